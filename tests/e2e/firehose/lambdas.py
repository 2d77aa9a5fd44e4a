"""A transformation function the endpoint's operator registers for the tests
(``rayemr.firehose.lambda.upper=tests.e2e.firehose.lambdas:upper``): Firehose's Lambda
contract -- upper-cases each record, drops those saying "drop", fails those saying "fail"."""
from __future__ import annotations

import base64


def upper(event: dict, context: object) -> dict:
    out = []
    for r in event["records"]:
        text = base64.b64decode(r["data"]).decode()
        result = "Dropped" if "drop" in text else "ProcessingFailed" if "fail" in text else "Ok"
        out.append({"recordId": r["recordId"], "result": result,
                    "data": base64.b64encode(text.upper().encode()).decode()})
    return {"records": out}
