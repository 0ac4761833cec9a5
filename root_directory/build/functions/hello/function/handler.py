"""The hello function (python3-http template): greets the name in the query, the body, or the world."""

MAX_NAME = 64


def handle(event, context):
    """Answer `{"message": "Hello, NAME!"}` for `?name=NAME`, a body `NAME`, or `world`."""
    query = event.query or {}
    name = query.get("name") or event.body.decode("utf-8", errors="replace").strip() or "world"
    if len(name) > MAX_NAME:
        return {"statusCode": 400, "body": f"name is longer than {MAX_NAME} characters\n"}
    return {
        "statusCode": 200,
        "body": {"message": f"Hello, {name}!", "host": context.hostname},
        "headers": {"Content-Type": "application/json"},
    }
