package jkgate.testapp;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * /app/upload, any method: reads the whole request body.
 *
 * Default reply (key=value lines): node, method, contentType, contentLength (as
 * declared, -1 when unknown), bodyLength, bodySha256.
 * ?mirror=1 instead streams the body back as it arrives (application/octet-stream,
 * no Content-Length, a flush after every read), for full-duplex relay tests.
 * ?status=NNN sets the status of either reply.
 */
public class UploadServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, List<String>> q = Support.parseQuery(req.getQueryString());
        resp.setStatus((int) Support.longParam(q, "status", 200));
        if (Support.flag(q, "mirror")) {
            resp.setContentType("application/octet-stream");
            ServletOutputStream out = resp.getOutputStream();
            byte[] buf = new byte[16384];
            int r;
            try (InputStream in = req.getInputStream()) {
                while ((r = in.read(buf)) > 0) {
                    out.write(buf, 0, r);
                    out.flush();
                }
            }
            return;
        }
        Support.Body body = Support.Body.read(req.getInputStream());
        StringBuilder out = new StringBuilder(256);
        Support.line(out, "node", Support.node());
        Support.line(out, "method", req.getMethod());
        Support.line(out, "contentType", req.getContentType());
        Support.line(out, "contentLength", req.getContentLengthLong());
        Support.line(out, "bodyLength", body.length);
        Support.line(out, "bodySha256", body.sha256);
        byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(bytes.length);
        resp.getOutputStream().write(bytes);
    }
}
