"""Bridge between jkgate's interop test (tests/ajp_ajpy.rs) and the independent
Python AJP implementation `ajpy` (PyPI, 0.0.5). Uses ajpy's own classes for every
encode and decode; where ajpy is broken the workaround is marked `AJPY BUG`.

Line protocol (stdin → stdout), every byte value hex-encoded, `-` for null:
  encode-forward: reads `key value` lines describing a request, prints the packet hex.
  encode-body:    reads one hex line of data, prints the body packet hex.
  decode-forward: reads one packet hex line, prints `key value` lines of what ajpy saw.
  decode-container: reads one hex line holding container packets, prints one block of
                    `key value` lines per message, blocks separated by `--`.
"""
import io
import sys

from ajpy import ajp

# AJPY BUG: AjpForwardRequest.parse uses `StringIO`, which ajp.py never imports (NameError).
# Packets are bytes, so give it io.BytesIO under that name.
ajp.StringIO = io.BytesIO


def text(hex_value):
    """ajpy's pack_string wants str and encodes it as UTF-8 but writes len(str) as the
    length (AJPY BUG: non-ASCII strings get truncated). Our tests send ASCII here."""
    return None if hex_value == "-" else bytes.fromhex(hex_value).decode("ascii")


def hexed(value):
    if value is None:
        return "-"
    if isinstance(value, tuple):  # AJPY BUG: several parse results are 1-tuples
        (value,) = value
    if isinstance(value, str):
        value = value.encode("latin-1")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return value.hex()


def encode_forward(lines):
    request = ajp.AjpForwardRequest(ajp.AjpForwardRequest.SERVER_TO_CONTAINER)
    request.request_headers = {}
    request.attributes = []
    for line in lines:
        key, _, value = line.partition(" ")
        if key == "method":
            code = int(value)
            # AJPY BUG: the method byte is packed signed ("b"), so 0xFF must be given as -1.
            request.method = code - 256 if code > 127 else code
        elif key in ("protocol", "req_uri", "remote_addr", "remote_host", "server_name"):
            setattr(request, key, text(value))
        elif key == "server_port":
            port = int(value)
            # AJPY BUG: the port is packed signed (">h"): ports above 32767 wrap.
            request.server_port = port - 65536 if port > 32767 else port
        elif key == "is_ssl":
            request.is_ssl = value == "1"
        elif key == "header":
            name, _, header_value = value.partition(" ")
            # Coded headers are given by ajpy's own names, e.g. SC_REQ_HOST.
            name = name if name.startswith("SC_REQ") else text(name)
            request.request_headers[name] = text(header_value)
        elif key == "attribute":
            name, _, rest = value.partition(" ")
            if name == "req_attribute":
                attr_name, _, attr_value = rest.partition(" ")
                request.attributes.append({"name": name, "value": (text(attr_name), text(attr_value))})
            else:
                request.attributes.append({"name": name, "value": text(rest)})
        else:
            raise SystemExit("unknown key " + key)
    print(request.serialize().hex())


def encode_body(lines):
    data = bytes.fromhex(lines[0]) if lines else b""
    body = ajp.AjpBodyRequest(io.BytesIO(data), len(data), ajp.AjpBodyRequest.SERVER_TO_CONTAINER)
    print(body.serialize().hex())


def decode_forward(lines):
    packet = bytes.fromhex(lines[0])
    request = ajp.AjpForwardRequest()
    request.parse(packet)
    # AJPY BUG: the method byte is read signed ("b").
    method = request.method + 256 if request.method < 0 else request.method
    print("method", method)
    for field in ("protocol", "req_uri", "remote_addr", "remote_host", "server_name"):
        print(field, hexed(getattr(request, field)))
    (port,) = request.server_port
    print("server_port", port + 65536 if port < 0 else port)  # AJPY BUG: signed read
    print("is_ssl", hexed(request.is_ssl))
    print("num_headers", request.num_headers)
    # AJPY BUG: headers are kept in a dict (duplicates collapse; our test sends none);
    # coded names come back as ajpy's SC_REQ_* names, string names as 1-tuples.
    for name, value in request.request_headers.items():
        shown = name if isinstance(name, str) else hexed(name)
        print("header", shown, hexed(value))
    # ajpy's parse stops after the headers (it never reads attributes). What follows in
    # the packet must be exactly what ajpy's own attribute writer produces for the
    # attributes the test lists on the following lines.
    tail = _attributes_tail(packet)
    expected = ajp.AjpForwardRequest()
    expected.attributes = []
    for line in lines[1:]:
        _, _, value = line.partition(" ")
        name, _, rest = value.partition(" ")
        if name == "req_attribute":
            attr_name, _, attr_value = rest.partition(" ")
            expected.attributes.append({"name": name, "value": (text(attr_name), text(attr_value))})
        else:
            expected.attributes.append({"name": name, "value": text(rest)})
    print("attributes_match_ajpy", "1" if tail == expected.pack_attributes() else "0")


def _attributes_tail(packet):
    """Runs ajpy's field readers in parse order on a stream we keep, returning the
    bytes after the headers."""
    stream = io.BytesIO(packet)
    ajp.unpack(stream, ">bbH")
    ajp.unpack(stream, "bb")
    for _ in range(5):
        ajp.unpack_string(stream)
    ajp.unpack(stream, ">h")
    ajp.unpack(stream, "?")
    (count,) = ajp.unpack(stream, ">H")
    for _ in range(count):
        (code,) = ajp.unpack(stream, ">H")
        if code <= 0xA000:
            stream.read(code + 1)
        ajp.unpack_string(stream)
    return stream.read()


def decode_container(lines):
    stream = io.BytesIO(bytes.fromhex(lines[0]))
    first = True
    while stream.tell() < len(stream.getbuffer()):
        if not first:
            print("--")
        first = False
        start = stream.tell()
        magic, length, code = ajp.unpack(stream, ">HHb")
        if code == ajp.AjpResponse.GET_BODY_CHUNK:
            # AJPY BUG: AjpResponse.parse reads GET_BODY_CHUNK's length and drops it;
            # call ajpy's own reader for that field directly.
            print("type 6")
            print("requested_len", ajp.AjpResponse().parse_get_body_chunk(stream))
            continue
        stream.seek(start)
        response = ajp.AjpResponse.receive(stream)
        print("type", response.prefix_code)
        if response.prefix_code == ajp.AjpResponse.SEND_HEADERS:
            print("status", response.http_status_code)
            print("status_msg", hexed(response.http_status_msg))
            print("num_headers", response.num_headers)
            for name, value in response.response_headers.items():
                print("header", hexed(name), hexed(value))
        elif response.prefix_code == ajp.AjpResponse.SEND_BODY_CHUNK:
            # ajpy reads chunk_length + 1 bytes: the data plus Tomcat's trailing NUL.
            print("data_with_nul", hexed(response.data))
        elif response.prefix_code == ajp.AjpResponse.END_RESPONSE:
            print("reuse", response.reuse)


def main():
    command = sys.argv[1]
    lines = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    {
        "encode-forward": encode_forward,
        "encode-body": encode_body,
        "decode-forward": decode_forward,
        "decode-container": decode_container,
    }[command](lines)


if __name__ == "__main__":
    main()
