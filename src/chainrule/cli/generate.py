"""``chainrule generate RUN_DIR --start TEXT``: text sampled from a trained language model.

As the second book's ``generate_better_text.py``: the start words are read one at a time (the
LSTMs' state carries them), then each next word is drawn from the model's softmax given all the
words so far, never ``N``, ``<unk>`` or ``$``; every ``<eos>`` ends a sentence.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import read_checkpoint
from ..errors import RunDirError, UsageError
from ..models import LANGUAGE_MODELS, build_model, check_vocabulary
from ..nets import generate_text
from ..rundir import checkpoint_path
from .datasets import add_data_arguments, load_text_corpus
from .types import positive_int, seed

def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="sample text from a trained language model",
        description="Rebuild the language model saved in RUN_DIR (rnnlm or better-rnnlm, trained with "
        "`chainrule train`), read the --start words, then draw each next word from the model's prediction. "
        "The same --seed gives the same text.",
        epilog='example:\n  chainrule generate runs/ptb-rnnlm --start "the meaning of life is" --length 50\n',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a language model's run directory")
    parser.add_argument("--start", default="you", metavar="TEXT",
                        help="the first words, from the training text's vocabulary (default: %(default)s)")
    parser.add_argument("--length", type=positive_int, default=100, metavar="N",
                        help="words to sample after the start (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the sampling (default: %(default)s)")
    parser.add_argument("--checkpoint", choices=["last", "best"], default="last",
                        help="the weights of the last epoch or of the best validation perplexity (default: %(default)s)")
    add_data_arguments(parser, dataset_help="(default: the corpus the run was trained on, whose vocabulary it uses)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.run_dir.is_dir():
        what = "does not exist" if not args.run_dir.exists() else "is a file, not a folder"
        raise RunDirError(f"{args.run_dir} {what}: RUN_DIR is a run directory written by `chainrule train --model rnnlm`")
    checkpoint = read_checkpoint(checkpoint_path(args.run_dir, args.checkpoint))
    config = checkpoint.config
    if config["model"] not in LANGUAGE_MODELS:
        raise UsageError(f"{args.run_dir} holds a {config['model']} trained on {config['dataset']}: generate samples "
                         f"text from a language model ({', '.join(LANGUAGE_MODELS)})")
    if args.dataset is not None and args.dataset != config["dataset"]:
        raise UsageError(f"--dataset {args.dataset}: the run in {args.run_dir} was trained on {config['dataset']}, "
                         "whose vocabulary its word ids number; leave --dataset out")
    words = args.start.split()
    if not words:
        raise UsageError("--start: give at least one word to start from")
    corpus = load_text_corpus(config["dataset"], args)
    check_vocabulary(config, corpus.word_to_id, f"the run in {args.run_dir}")
    for word in words:
        if word not in corpus.word_to_id:
            raise UsageError(f"--start: the word {word!r} is not in the vocabulary of {config['dataset']} "
                             f"({len(corpus.word_to_id)} words, lower case; rare words are <unk>, numbers N)")
    model = build_model(config)
    model.load_state_dict(checkpoint.model)
    print(generate_text(model, words, corpus.word_to_id, corpus.id_to_word, args.length, rng=args.seed))
    return 0

