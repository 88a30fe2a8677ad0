"""The MNIST reproduction: the seed's MSE-vs-CE results, why MSE failed, and how to beat them.

``python -m benchmarks.mnist [--quick]`` runs the seed-faithful runs, the
ablation, nplearn's best configuration, time-to-accuracy against PyTorch and
Fashion-MNIST, and writes ``reports/mnist.md`` with its plots and CSV/JSON
histories under ``reports/mnist/``.
"""
