"""The book's ``common/trainer.py``: its training loop, over chainrule's networks and optimizers.

The loop is the book's procedure, kept because its scripts print from it: mini-batches drawn
*with replacement* by ``np.random.choice``, ``epochs * train_size / batch_size`` steps, and an
evaluation (optionally on the first ``evaluate_sample_num_per_epoch`` samples) whenever the step
count is a multiple of the float ``train_size / batch_size``. chainrule's own
:class:`chainrule.training.Trainer` shuffles each epoch instead and is reproducible from a seed.
"""

import numpy as np

from .optimizer import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam}


class Trainer:
    """``Trainer(network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
    optimizer='SGD', optimizer_param={'lr': 0.01}, evaluate_sample_num_per_epoch=None, verbose=True)``."""

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
                 optimizer="SGD", optimizer_param={"lr": 0.01},  # noqa: B006 - the book's signature; never mutated
                 evaluate_sample_num_per_epoch=None, verbose=True):
        name = str(optimizer).lower()
        if name not in OPTIMIZERS:
            raise ValueError(f"Trainer: optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        self.network, self.verbose = network, verbose
        self.x_train, self.t_train, self.x_test, self.t_test = x_train, t_train, x_test, t_test
        self.epochs, self.batch_size = epochs, mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.optimizer = OPTIMIZERS[name](**optimizer_param)
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = max(self.train_size / mini_batch_size, 1)
        self.max_iter = int(epochs * self.iter_per_epoch)
        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list = []
        self.train_acc_list = []
        self.test_acc_list = []

    def train_step(self):
        batch_mask = np.random.choice(self.train_size, self.batch_size)
        x_batch, t_batch = self.x_train[batch_mask], self.t_train[batch_mask]
        grads = self.network.gradient(x_batch, t_batch)
        self.optimizer.update(self.network.params, grads)
        loss = self.network.loss(x_batch, t_batch)
        self.train_loss_list.append(loss)
        if self.verbose:
            print("train loss:" + str(loss))
        if self.current_iter % self.iter_per_epoch == 0:
            self.current_epoch += 1
            n = self.evaluate_sample_num_per_epoch
            x_train, t_train = (self.x_train, self.t_train) if n is None else (self.x_train[:n], self.t_train[:n])
            x_test, t_test = (self.x_test, self.t_test) if n is None else (self.x_test[:n], self.t_test[:n])
            train_acc = self.network.accuracy(x_train, t_train)
            test_acc = self.network.accuracy(x_test, t_test)
            self.train_acc_list.append(train_acc)
            self.test_acc_list.append(test_acc)
            if self.verbose:
                print(f"=== epoch:{self.current_epoch}, train acc:{train_acc}, test acc:{test_acc} ===")
        self.current_iter += 1

    def train(self):
        for _ in range(self.max_iter):
            self.train_step()
        test_acc = self.network.accuracy(self.x_test, self.t_test)
        if self.verbose:
            print("=============== Final Test Accuracy ===============")
            print("test acc:" + str(test_acc))
