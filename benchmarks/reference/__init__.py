"""The reference: a minimal app doing exactly the durable work of a send and a story read.

``make bench`` measures it back to back with the product, under the same load generator, and
reports the product's figures as ratios of it (issue 14). See :mod:`benchmarks.reference.app`.
"""
