"""Placeholder code asset (`-c bundle=stub`), for synthesizing in tests. Deploying it makes every call fail loudly."""


def _stub(*_args: object) -> None:
    raise RuntimeError("this Lambda runs the stub bundle: redeploy with the real package (bundle=local)")


lambda_handler = ingest_handler = sweep_handler = digest_handler = _stub
