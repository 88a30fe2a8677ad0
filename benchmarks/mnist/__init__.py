"""The MNIST reproduction: the post's MSE-vs-CE results, why MSE failed, and how to beat them.

``python -m benchmarks.mnist [--quick] [--seeds N] [--jobs N | --dask ADDRESS] [--resume]`` runs
the post-faithful runs, the ablation, nplearn's best configuration (through joblib, locally or on
a Dask cluster), time-to-accuracy against PyTorch and Fashion-MNIST, and writes ``mnist.md`` with
its figures and CSV/JSON histories under ``mnist/`` in the report folder.
"""
