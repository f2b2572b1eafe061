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
    gives. ``size`` is the compressed size in bytes (None: unknown).
    """

    name: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None

    @property
    def digest(self) -> tuple[str, str] | None:
        """The strongest known ``(algorithm, hex digest)``, or None if nothing is known."""
        if self.sha256:
            return "sha256", self.sha256.lower()
        if self.md5:
            return "md5", self.md5.lower()
        return None


@dataclass(frozen=True)
class DatasetSource:
    """An image-classification dataset published as four IDX files.

    ``subdir`` is both the folder name looked for inside a data directory and the folder used in
    the download cache. ``mirrors`` are base URLs tried in order (each ends with ``/``).
    """

    name: str
    subdir: str
    files: dict[str, RemoteFile]  # keyed by the names in SPLITS
    mirrors: tuple[str, ...]
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
        ),
        "train_labels": RemoteFile(
            "train-labels-idx1-ubyte.gz",
            28_881,
            sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "test_images": RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            1_648_877,
            sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "test_labels": RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            4_542,
            sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
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
        # Only MD5 is published for the image files; we have no SHA-256 we could vouch for.
        "train_images": RemoteFile(
            "train-images-idx3-ubyte.gz", 26_421_880, md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"
        ),
        "train_labels": RemoteFile(
            "train-labels-idx1-ubyte.gz",
            29_515,
            sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        "test_images": RemoteFile(
            "t10k-images-idx3-ubyte.gz", 4_422_102, md5="bef4ecab320f06d8554ea6380940ec79"
        ),
        "test_labels": RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            5_148,
            sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
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
