"""Floor 1: the least a callback endpoint can do — check IK-APPID and the IK-SIGN signature, answer 200.

Served by gunicorn exactly like cardpay (`gunicorn --chdir bench floor_verify:app`), it measures
what the web server, Flask and the HMAC cost on this machine, with no database at all. It uses
cardpay's own signing module, so the signature work is identical.
"""

import os

from flask import Flask, jsonify, request

from cardpay.ikhokha import signing

APP_ID = os.environ.get("IKHOKHA_API_KEY", "")
SECRET = os.environ.get("IKHOKHA_API_SECRET", "")
PATH = "/webhooks/ikhokha"

app = Flask(__name__)


def verified():
    """Tell whether the request carries our app id and a valid signature over path + raw body."""
    return (request.headers.get("IK-APPID") == APP_ID
            and signing.signature_matches(request.headers.get("IK-SIGN"), [SECRET], request.path,
                                          request.get_data()))


@app.post(PATH)
def callback():
    """Answer 200 to a verified callback, 401 to anything else."""
    if not verified():
        return jsonify(error="invalid_signature"), 401
    return jsonify(status="ok")
