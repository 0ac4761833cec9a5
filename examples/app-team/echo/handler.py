"""The echo function (python3-http template): answers with the request body."""


def handle(event, context):
    return {"statusCode": 200, "body": event.body, "headers": {"Content-Type": "text/plain"}}
