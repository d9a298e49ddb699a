"""Language-model fixtures for LanguageModelTests (the Swift tests need no Python).

  make_lm_fixtures.py corpus DIR             writes DIR/train.txt and DIR/test.txt: made-up
                                             commands and digit or letter strings (seeded)
  make_lm_fixtures.py score MODEL TEST OUT   scores every word of TEST's sentences with KenLM's
                                             own query code on MODEL (an ARPA file speechlab
                                             wrote) into OUT (JSON); the Swift test compares
                                             its back-off queries to these numbers
"""
import json
import random
import sys


def corpus(folder):
    random.seed(7)
    digits = "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split()
    letters = "A B C D E F G H I J K L M N O P R S T".split()
    commands = ["ENTER", "ERASE", "GO", "STOP", "REPEAT", "RUBOUT", "NO", "YES", "HELP"]
    lines = []
    for _ in range(60):
        kind = random.random()
        if kind < 0.35:
            lines.append(" ".join(random.choice(digits) for _ in range(random.randint(1, 6))))
        elif kind < 0.6:
            lines.append(" ".join(random.choice(letters) for _ in range(random.randint(2, 7))))
        elif kind < 0.8:
            tail = " " + " ".join(random.choice(digits) for _ in range(random.randint(1, 3))) if random.random() < 0.6 else ""
            lines.append(random.choice(commands) + tail)
        else:
            lines.append(random.choice(commands))
    open(f"{folder}/train.txt", "w").write("\n".join(lines) + "\n")
    # Test sentences mix the words freely (unseen n-grams) and add a word no sentence has.
    test = [" ".join(random.choice(digits + letters + commands + ["ZEBRA"]) for _ in range(random.randint(1, 6))) for _ in range(15)]
    open(f"{folder}/test.txt", "w").write("\n".join(test) + "\n")


def score(model_path, test_path, out_path):
    import kenlm
    model = kenlm.Model(model_path)
    sentences = [line.split() for line in open(test_path) if line.split()]
    # full_scores: one (log10 p, n-gram length, is OOV) per word and one for </s>, <s> as history.
    scores = [[s for s, _, _ in model.full_scores(" ".join(words), bos=True, eos=True)] for words in sentences]
    json.dump({"order": model.order, "sentences": [" ".join(w) for w in sentences], "scores": scores}, open(out_path, "w"), indent=1)


if sys.argv[1] == "corpus":
    corpus(sys.argv[2])
else:
    score(*sys.argv[2:5])
