# ruff: noqa
# The blog post's "Training MNIST in Batches using MSE" script, copied verbatim from
# the post's text (lines 457-560) with ONLY these changes:
#   1. imports: `import os` and `from nplearn import MSE, SGD, Linear, Network, ReLU, Tensor`
#      added after the post's imports (the post's notebook had the library classes defined;
#      here they come from nplearn; `import os` serves change 2);
#   2. CSV paths: 'mnist_train.csv' / 'mnist_test.csv' became
#      os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv') / (..., 'mnist_test.csv');
#   3. this header comment; its first line (a file-level ruff exemption) keeps the linter off
#      the post's code.
# Everything else (loop, hyper-parameters, 100 epochs) is the post's. Run by
# verification/test_post_scripts.py, which caps the epochs by patching tqdm.auto.tqdm and
# checks that this file, with the changes above undone, has the digest of the post's code.
from tqdm import auto
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
import os
from nplearn import MSE, SGD, Linear, Network, ReLU, Tensor


def to_one_hot(vector: Tensor) -> Tensor:
    """Create one hot encoding of a vector."""
    oh = np.zeros((vector.shape[0], vector.max()+1))
    oh[np.arange(vector.shape[0]), vector] = 1
    return oh


# Load training data

train = pd.read_csv(os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv'), header=None).values[:, 1:]
train_label = pd.read_csv(
    os.path.join(os.environ["POST_CSV_DIR"], 'mnist_train.csv'), header=None).values[:, 0]

# Create the basic network
net = Network(layers=[
    Linear(784, 128),
    ReLU(),
    Linear(128, 10),
])
# Initialize loss class
loss = MSE()

# Initialize the optimizer, learning rate is 0.0001
optim = SGD(1e-4)

# permform the train/val split
x_train, x_val, y_train, y_val = train_test_split(
    train.astype(np.float32) / 255,
    train_label.astype(np.int32),
    test_size=0.2, random_state=42)  # to_one_hot

# Convert labels to one-hot encodings
y_train = to_one_hot(y_train)
y_val = to_one_hot(y_val)

# batch size
batch_size = 100

# progress bar may not be visible in PDF mode, but it works in notebook or terminal mode
# we set it to 100 epochs here
progress_bar = auto.tqdm(range(100))
for epoch in progress_bar:
    # offset to iterate through batches
    offset = 0
    # initialize errors for validation and training
    val_err = 0
    err = 0
    while (offset+batch_size <= len(x_train)):
        # while we can move through batches, extract them
        data = x_train[offset:offset+batch_size, :]
        label = y_train[offset:offset+batch_size]
        # make prediction
        pred = net(data)
        # calculate loss (and average error)
        err += loss(pred, label)/(len(x_train)/batch_size)
        # begin backprop
        g = net.backward(loss.grad)
        # perform SGD step
        optim.step(net)
        # move to next batch
        offset += batch_size
    # reset offset for validation
    offset = 0
    while (offset+batch_size <= len(x_val)):
        # get validation data while we are not at the end
        val_data = x_val[offset:offset+batch_size, :]
        val_label = y_val[offset:offset+batch_size]
        # make prediction
        pred = net(val_data)
        # get loss and error
        val_err += loss(pred, val_label)/(len(x_val)/batch_size)
        # move offset to next batch
        offset += batch_size
        if (epoch) % 2 == 0:
            # update progress bar info
            progress_bar.set_postfix({"Mean_loss_train": err,
                                      "Mean_loss_val": val_err})
# Load test data and convert to one-hot
test = pd.read_csv(os.path.join(os.environ["POST_CSV_DIR"], 'mnist_test.csv'), header=None).values[:, 1:]
test_label = pd.read_csv(os.path.join(os.environ["POST_CSV_DIR"], 'mnist_test.csv'), header=None).values[:, 0]
test_label = to_one_hot(test_label)

# place offset and initialize error to 0
offset = 0
test_err = 0.
while (offset+batch_size <= len(test)):
    # get data batch
    data = test[offset:offset+batch_size, :]
    label = test_label[offset:offset+batch_size]
    # make prediction
    pred = net(data)
    # get error
    test_err += loss(pred, label)/(len(test)/batch_size)
    offset += batch_size


print(f"Test Error is {test_err:.2f} ...")
