"""zpush's and zpull's job done the way the seed programs do it, with pyzmq.

`make bench` times it beside the zpattern binaries on the same input:

    python3 pyzmq_pipe.py pull ENDPOINT COUNT > out   bind, write COUNT messages, one per line
    python3 pyzmq_pipe.py push ENDPOINT < lines       connect, send each stdin line as a message

The puller prints "pyzmq_pipe: bound ENDPOINT" on stderr once bound, as the zpattern
binaries do, and gives up after 30 s without a message. The pusher closes with
pyzmq's default linger (wait until everything is delivered).
"""

import sys

import zmq


def pull(endpoint, count):
    context = zmq.Context()
    socket = context.socket(zmq.PULL)
    socket.rcvtimeo = 30000
    socket.bind(endpoint)
    bound = socket.getsockopt(zmq.LAST_ENDPOINT).decode()
    print(f"pyzmq_pipe: bound {bound}", file=sys.stderr, flush=True)
    out = sys.stdout.buffer
    for _ in range(count):
        out.write(socket.recv() + b"\n")
    out.flush()
    socket.close()
    context.term()


def push(endpoint):
    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    socket.connect(endpoint)
    for line in sys.stdin.buffer:
        line = line.rstrip(b"\r\n")
        if line:
            socket.send(line)
    socket.close()
    context.term()


def main(args):
    if len(args) == 3 and args[0] == "pull":
        pull(args[1], int(args[2]))
    elif len(args) == 2 and args[0] == "push":
        push(args[1])
    else:
        sys.exit("usage: pyzmq_pipe.py pull ENDPOINT COUNT | push ENDPOINT")


if __name__ == "__main__":
    main(sys.argv[1:])
