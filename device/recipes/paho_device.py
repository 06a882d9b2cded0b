#!/usr/bin/env python3
"""A device application in Python (paho-mqtt) that follows its moves: docs/devices.md, "Python".

It does what Python linkkit leaves to the application: bootstrap, a signed CONNECT to the endpoint
the answer names, and on thing/bootstrap/notify: answer it, disconnect, bootstrap again and connect
to the new home. A refused CONNECT (CONNACK 5: the device lives elsewhere now) or a lost connection
also goes back to bootstrap, with a jittered back-off.

    python3 paho_device.py --bootstrap http://127.0.0.1:8080 --product-key PK --device-name DN \\
        --device-secret SECRET [--moves 1] [--timeout 60]

Each step is printed as one JSON line on stdout. With --moves N the script exits 0 once it has
followed N moves (and had its property post answered at each new home); without, it runs forever.
Needs paho-mqtt 1.6 or 2.x (Debian: python3-paho-mqtt) and nothing else.
"""
import argparse
import hashlib
import hmac
import json
import queue
import random
import sys
import time
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt

SDK_VERSION = "paho-recipe-1.0"


def log(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def bootstrap(url, product_key, device_name):
    """POST /auth/bootstrap: where does this device belong? Returns (host, port)."""
    body = urllib.parse.urlencode({
        "productKey": product_key,
        "deviceName": device_name,
        "clientId": f"{product_key}.{device_name}",
        "resources": "mqtt",
    }).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/auth/bootstrap", data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        mqtt_endpoint = json.loads(answer.read())["data"]["resources"]["mqtt"]
    return mqtt_endpoint["host"], int(mqtt_endpoint["port"])


def credentials(product_key, device_name, device_secret):
    """clientId, username and password as Alibaba's SDKs sign them (hmacsha256)."""
    client_id = f"{product_key}.{device_name}"
    timestamp = str(int(time.time() * 1000))
    content = f"clientId{client_id}deviceName{device_name}productKey{product_key}timestamp{timestamp}"
    password = hmac.new(device_secret.encode(), content.encode(), hashlib.sha256).hexdigest()
    mqtt_client_id = (f"{client_id}|securemode=3,signmethod=hmacsha256,timestamp={timestamp},"
                      f"lan=Python,_v={SDK_VERSION}|")
    return mqtt_client_id, f"{device_name}&{product_key}", password


def new_client(client_id):
    """paho 2.x wants the callback API version first; 1.6 does not know it."""
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, protocol=mqtt.MQTTv311)
    return mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)


class Device:
    def __init__(self, args):
        self.args = args
        self.pk, self.dn = args.product_key, args.device_name
        self.events = queue.Queue()
        self.client = None
        self.home = None

    def topic(self, rest):
        return f"/sys/{self.pk}/{self.dn}/thing/{rest}"

    # Called on paho's network thread: hand everything to the main thread.
    def on_connect(self, _client, _userdata, _flags, rc):
        self.events.put(("connack", rc))

    def on_disconnect(self, _client, _userdata, rc):
        self.events.put(("disconnected", rc))

    def on_message(self, _client, _userdata, message):
        self.events.put(("message", message.topic, message.payload))

    def connect(self):
        """Bootstrap, then a signed CONNECT to the endpoint it named; True once CONNACK 0 came."""
        try:
            self.home = bootstrap(self.args.bootstrap, self.pk, self.dn)
        except OSError as err:  # includes HTTP errors (429, 503): retried with back-off
            log("bootstrap_failed", message=str(err))
            return False
        log("bootstrapped", host=self.home[0], port=self.home[1])
        client_id, username, password = credentials(self.pk, self.dn, self.args.device_secret)
        self.client = new_client(client_id)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message
        try:
            self.client.connect(self.home[0], self.home[1], keepalive=60)
        except OSError as err:
            log("connect_failed", message=str(err), host=self.home[0], port=self.home[1])
            self.client = None
            return False
        self.client.loop_start()
        kind, *rest = self.next_event("connack")
        if rest[0] != 0:
            # CONNACK 5: assigned elsewhere (it moved while we bootstrapped): bootstrap again.
            log("refused", returnCode=rest[0], host=self.home[0], port=self.home[1])
            self.stop()
            return False
        log("connected", host=self.home[0], port=self.home[1])
        return True

    def stop(self):
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def next_event(self, *kinds):
        deadline = time.monotonic() + self.args.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {'/'.join(kinds)} within {self.args.timeout} s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event[0] in kinds:
                return event
            if event[0] == "message":
                self.messages.append(event)

    def connect_with_backoff(self):
        ceiling = 1.0
        while not self.connect():
            time.sleep(random.uniform(0, ceiling))
            ceiling = min(ceiling * 2, 60.0)

    def post_properties(self, params):
        """thing.event.property.post; the broker answers on .../post_reply (no SUBSCRIBE needed)."""
        message_id = str(random.randint(0, 2 ** 32 - 1))
        payload = {"id": message_id, "version": "1.0", "params": params, "method": "thing.event.property.post"}
        self.client.publish(self.topic("event/property/post"), json.dumps(payload), qos=1)
        return message_id

    def run(self):
        self.messages = []
        moves = 0
        self.connect_with_backoff()
        waiting_reply = self.post_properties({"Moves": moves})
        while self.args.moves is None or moves < self.args.moves:
            if self.messages:
                event = self.messages.pop(0)
            else:
                event = self.next_event("message", "disconnected")
            if event[0] == "disconnected":
                # Lost or kicked without a notify: back to bootstrap all the same.
                log("disconnected", rc=event[1])
                self.stop()
                self.connect_with_backoff()
                continue
            _, topic, payload = event
            if topic == self.topic("event/property/post_reply"):
                reply = json.loads(payload)
                log("property_reply", id=reply["id"], code=reply["code"], expected=reply["id"] == waiting_reply)
            elif topic == self.topic("bootstrap/notify"):
                notify = json.loads(payload)
                log("notify", id=notify["id"])
                # Answer first (QoS 0, the same id), then leave: the old broker disconnects us anyway.
                reply = json.dumps({"id": notify["id"], "code": 200, "data": {}})
                self.client.publish(self.topic("bootstrap/notify_reply"), reply, qos=0).wait_for_publish(5)
                log("notify_reply", id=notify["id"])
                self.stop()
                self.messages = []
                self.connect_with_backoff()
                moves += 1
                waiting_reply = self.post_properties({"Moves": moves})
                # At the new home: the post is answered there too.
                while True:
                    _, topic, payload = self.next_event("message")
                    if topic == self.topic("event/property/post_reply"):
                        reply = json.loads(payload)
                        log("property_reply", id=reply["id"], code=reply["code"], expected=reply["id"] == waiting_reply)
                        break
        self.stop()
        log("done", moves=moves)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="the bootstrap server, http://host:port")
    parser.add_argument("--product-key", required=True)
    parser.add_argument("--device-name", required=True)
    parser.add_argument("--device-secret", required=True)
    parser.add_argument("--moves", type=int, default=None, help="exit after following this many moves")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any one step")
    args = parser.parse_args()
    try:
        Device(args).run()
    except Exception as err:  # one line a test or an operator can read, then a non-zero exit
        log("error", message=f"{type(err).__name__}: {err}")
        sys.exit(1)


if __name__ == "__main__":
    main()
