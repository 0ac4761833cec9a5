module faasplane.dev/benchmarks/loadgen

go 1.23
