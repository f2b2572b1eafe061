"""Training: the loop, its history, learning-rate schedules and evaluation."""

from .evaluation import confusion_matrix, evaluate, predict_labels, split_validation
from ..history import History
from .language_model import LanguageModelTrainer
from .schedules import make_schedule
from .trainer import Trainer

__all__ = ["History", "LanguageModelTrainer", "Trainer", "confusion_matrix", "evaluate", "make_schedule", "predict_labels", "split_validation"]
