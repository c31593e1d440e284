"""``agegender console``: a small web page over the pipeline's buckets and outputs (embedded or deployed).

Try a photo (upload, wait for its result, see it drawn), watch a camera (latest frame, live tracks,
its display's decision) and read the audience report. It talks to the pipeline only through S3,
the state table and the rules document, as a user with their own credentials would; it binds to
127.0.0.1 and nothing about it is deployed.
"""
