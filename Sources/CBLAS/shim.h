// Debian installs cblas.h in the multiarch include folder, which pkg-config adds.
#include <cblas.h>
// mallopt, for TensorCore's Allocator (glibc declares it only here).
#include <malloc.h>
