"""The benchmark suite of nplearn: timings (``benchmarks.timing``) and the MNIST reproduction (``benchmarks.mnist``)."""
