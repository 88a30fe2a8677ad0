"""The MNIST reproduction: the post's MSE-vs-CE results, why MSE failed, and how to beat them
(``python -m benchmarks.mnist``, see its ``__main__``; report ``mnist.md``)."""
