"""The Slack app: Bolt listeners, Block Kit formatting, dedupe and feedback stores, secrets, local servers.

The ack path (`app`, `gateway`, `runtime`, `blocks`, `events`) imports only slack_bolt, slack_sdk, boto3 and the
standard library; the answering pipeline (numpy, FAISS and the boto3 Bedrock clients) is imported by the lazy
worker when it first answers a question.
"""
