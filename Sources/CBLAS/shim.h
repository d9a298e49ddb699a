// Debian installs cblas.h in the multiarch include folder, which pkg-config adds.
#include <cblas.h>
