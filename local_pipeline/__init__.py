"""The pipeline on an embedded AWS (moto's server): the same resources as the stack, and a worker
that does what Lambda's SQS event source mapping does.
"""
