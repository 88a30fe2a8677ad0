# ruff: noqa
# The blog post's "Cross Entropy Training" script, copied verbatim from
# the post's text (lines 584-713) with ONLY these changes:
#   1. imports: `from datatype import Tensor` became `import os` and
#      `from nplearn import SGD, CrossEntropyLoss, Linear, Network, Sigmoid, Tensor`
#      (the library classes come from nplearn; `import os` serves change 2);
#   2. CSV paths: 'mnist_train.csv' / 'mnist_test.csv' became
#      os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv') / (..., 'mnist_test.csv');
#   3. this header comment; its first line (a file-level ruff exemption) keeps the linter off
#      the post's code.
# Everything else (loop, hyper-parameters, 200 epochs) is the post's. Run by
# verification/test_post_scripts.py, which caps the epochs by patching tqdm.auto.tqdm and
# checks that this file, with the changes above undone, has the digest of the post's code.
"""Training example for a simple network with MNIST Dataset."""
from tqdm import auto
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
import os
from nplearn import SGD, CrossEntropyLoss, Linear, Network, Sigmoid, Tensor


def to_one_hot(vector: Tensor) -> Tensor:
    """Create one hot encoding of a vector."""
    oh = np.zeros((vector.shape[0], vector.max()+1))
    oh[np.arange(vector.shape[0]), vector] = 1
    return oh

# Load training data
train = pd.read_csv(os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv'), header=None).values[:, 1:]
train_label = pd.read_csv(
    os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv'), header=None).values[:, 0]

# Create the network
net = Network(layers=[
    Linear(784, 128),
    Sigmoid(),
    Linear(128, 10),
])
# Initialize loss class
loss = CrossEntropyLoss()

# Initialize optimizer with regularization
optim = SGD(5e-2, 0.0001)

# split
x_train, x_val, y_train, y_val = train_test_split(
    train.astype(np.float32) / 255,
    train_label.astype(np.int32),
    test_size=0.2, random_state=42)  # to_one_hot

# to one-hot
y_train = to_one_hot(y_train)
y_val = to_one_hot(y_val)
batch_size = 100
progress_bar = auto.tqdm(range(200))

# this will be used later
accuracies: dict = {"train": [],
                    "val": [],
                    "test": []}
acc_train: list = []
acc_val: list = []

for epoch in progress_bar:
    offset = 0
    val_err = 0
    err = 0
    while (offset+batch_size <= len(x_train)):
        # grab the batch
        data = x_train[offset:offset+batch_size, :]
        label = y_train[offset:offset+batch_size, :]
        # I try to avoid a runtime warning (only happens in notebook, not sure why)
        try:
            pred = net(data)
        except RuntimeWarning:
            print(f"Runtime warning on {offset}")
        # get loss
        err += loss(pred, label)/(len(x_train)/batch_size)
        # backprop
        g = net.backward(loss.grad)
        # update weights
        optim.step(net)
        # next batch index
        offset += batch_size
        # keep scores
        acc_train.append(accuracy_score(
            label.argmax(axis=1),
            pred.argmax(axis=1)
        ))
    offset = 0
    while (offset+batch_size <= len(x_val)):
        # get validation data
        val_data = x_val[offset:offset+batch_size, :]
        val_label = y_val[offset:offset+batch_size]
        # predict
        pred = net(val_data)
        # get loss
        val_err += loss(pred, val_label)/(len(x_val)/batch_size)
        # next batch index
        offset += batch_size
        # keep scores
        acc_val.append(accuracy_score(
            val_label.argmax(axis=1),
            pred.argmax(axis=1)
        ))
    if (epoch) % 2 == 0:
        # update progress bar
        progress_bar.set_postfix({"loss_train": err,
                                  "loss_val": val_err,
                                  "acc_val": np.mean(acc_val)})
    # keep scores for visualization
    accuracies['train'].append(np.mean(acc_train))
    accuracies['val'].append(np.mean(acc_val))
    acc_train = []
    acc_val = []

# Load test data and convert to one-hot
test = pd.read_csv(os.path.join(os.environ["POST_CSV_DIR"], 'mnist_test.csv'), header=None).values[:, 1:]
test_label = to_one_hot(pd.read_csv(
    os.path.join(os.environ["POST_CSV_DIR"], 'mnist_test.csv'),
    header=None).values[:, 0])


offset = 0
test_err = 0.
while (offset+batch_size <= len(test)):
    # get batch
    data = test[offset:offset+batch_size, :]
    label = test_label[offset:offset+batch_size]
    # predict
    pred = net(data)
    # get loss
    test_err += loss(pred, label)/(len(test)/batch_size)
    # offset
    offset += batch_size
    # get scores
    accuracies['test'].append(accuracy_score(
        label.argmax(axis=1),
        pred.argmax(axis=1)
    ))

print(f"Average Test Accuracy: {np.mean(accuracies['test']):.2f}")
