"""Lays out a SphinxTrain 1.0.8 task for AN4 from speechlab's Kaldi data directories, so that CMU's
own recipe (the AN4 tutorial: continuous HMMs, 200 tied states x 8 Gaussians) trains on exactly our
training speakers and PocketSphinx decodes exactly our dev speakers with the same trigram.

Usage: sphinxtrain_an4.py TRAIN_DIR DEV_DIR CMUDICT LM_ARPA TASK_DIR SPHINXTRAIN_DIR

TRAIN_DIR/DEV_DIR: `speechlab prepare an4` outputs (wav.scp, text). Audio is converted to 16-bit
WAV with sox (SphinxTrain reads WAV, NIST or raw, not FLAC); the conversion is not part of any
timing. The dictionary holds every word of both sets from CMUdict, stress removed, alternates as
WORD(2) as the tutorial's an4.dic does.
"""
import os
import re
import subprocess
import sys

train_dir, dev_dir, cmudict, lm, task, sphinxtrain = sys.argv[1:7]
task = os.path.abspath(task)
os.makedirs(f"{task}/etc", exist_ok=True)
os.makedirs(f"{task}/wav", exist_ok=True)


def read_set(folder):
    wavs = dict(line.split(maxsplit=1) for line in open(f"{folder}/wav.scp"))
    texts = {}
    for line in open(f"{folder}/text"):
        parts = line.split()
        texts[parts[0]] = parts[1:]
    return [(utt, wavs[utt].strip(), texts[utt]) for utt in sorted(texts)]


sets = {"train": read_set(train_dir), "test": read_set(dev_dir)}
vocabulary = set()
for name, utterances in sets.items():
    with open(f"{task}/etc/an4_{name}.fileids", "w") as ids, open(f"{task}/etc/an4_{name}.transcription", "w") as trn:
        for utt, path, words in utterances:
            target = f"{task}/wav/{utt}.wav"
            if not os.path.exists(target):
                subprocess.run(["sox", path, "-b", "16", "-e", "signed-integer", target], check=True)
            ids.write(f"{utt}\n")
            trn.write(f"<s> {' '.join(words)} </s> ({utt})\n")
            vocabulary.update(words)

pronunciations = {}
for line in open(cmudict, encoding="latin-1"):
    line = line.split("#")[0].strip()
    if not line or line.startswith(";;;"):
        continue
    word, *phones = line.split()
    base = re.sub(r"\(\d+\)$", "", word).upper()
    if base in vocabulary:
        pron = " ".join(re.sub(r"\d", "", p).upper() for p in phones)
        if pron not in pronunciations.setdefault(base, []):
            pronunciations[base].append(pron)
missing = sorted(vocabulary - set(pronunciations))
if missing:
    sys.exit(f"sphinxtrain_an4: not in {cmudict}: {' '.join(missing)}")
phones = {"SIL"}
with open(f"{task}/etc/an4.dic", "w") as dic:
    for word in sorted(pronunciations):
        for k, pron in enumerate(pronunciations[word]):
            dic.write(f"{word if k == 0 else f'{word}({k + 1})'} {pron}\n")
            phones.update(pron.split())
with open(f"{task}/etc/an4.phone", "w") as out:
    out.write("".join(f"{p}\n" for p in sorted(phones)))
with open(f"{task}/etc/an4.filler", "w") as out:
    out.write("<s> SIL\n</s> SIL\n<sil> SIL\n")

binaries = "/usr/lib/sphinxtrain"
config = open(f"{sphinxtrain}/etc/sphinx_train.cfg").read()
for key, value in {"___DB_NAME___": "an4", "___BASE_DIR___": task, "___SPHINXTRAIN_DIR___": sphinxtrain,
                   "___SPHINXTRAIN_BIN_DIR___": binaries}.items():
    config = config.replace(key, value)
# Training on two cores: two parts, run by the local POSIX queue (the peers page's advice).
overrides = {
    "CFG_NPART": "2",
    "CFG_QUEUE_TYPE": '"Queue::POSIX"',
    "DEC_CFG_NPART": "1",  # decoding speed is compared on one thread
    "DEC_CFG_LANGUAGEMODEL": f'"{os.path.abspath(lm)}"',
}
for key, value in overrides.items():
    config, count = re.subn(rf"^\${key}\s*=.*$", f"${key} = {value};", config, flags=re.M)
    if count != 1:
        sys.exit(f"sphinxtrain_an4: {key} not found once in sphinx_train.cfg")
with open(f"{task}/etc/sphinx_train.cfg", "w") as out:
    out.write(config)
with open(f"{task}/etc/feat.params", "w") as out:
    out.write(open(f"{sphinxtrain}/etc/feat.params").read())
print(f"{len(sets['train'])} training and {len(sets['test'])} test utterances, {len(pronunciations)} words, "
      f"{len(phones)} phones in {task}")
