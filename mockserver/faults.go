package mockserver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock/scenarios"
)

// maxHang bounds a hang fault, should the client never give up.
const maxHang = 10 * time.Minute

// gatewayPage is what a reverse proxy in front of the vendor answers when the service behind
// it fails: HTML, not the vendor's JSON.
func gatewayPage(status int) []byte {
	text := http.StatusText(status)
	return []byte(fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
		status, text, status, text))
}

// breakConnection carries out the faults that act on the connection: hang, reset and empty.
func (s *Server) breakConnection(c echo.Context, kind scenarios.FaultKind) error {
	conn, _, err := http.NewResponseController(c.Response().Writer).Hijack()
	if err != nil {
		// No connection to break (an in-process test recorder): abort the response.
		panic(http.ErrAbortHandler)
	}
	c.Response().Committed = true
	switch kind {
	case scenarios.FaultHang:
		gone := make(chan struct{})
		go func() { // a read returns when the client closes its side
			var buf [512]byte
			for {
				if _, err := conn.Read(buf[:]); err != nil {
					close(gone)
					return
				}
			}
		}()
		t := time.NewTimer(maxHang)
		defer t.Stop()
		select {
		case <-gone:
		case <-s.stop:
		case <-t.C:
		}
	case scenarios.FaultReset:
		if tcp, ok := underlying(conn).(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close sends RST instead of FIN
		}
	}
	return conn.Close()
}

// underlying unwraps the connection WrapListener made.
func underlying(conn net.Conn) net.Conn {
	if ec, ok := conn.(*envelopeConn); ok {
		return ec.Conn
	}
	return conn
}

// spoil applies a truncated or malformed fault to a body about to be sent.
func spoil(kind scenarios.FaultKind, body []byte) []byte {
	switch kind {
	case scenarios.FaultTruncated:
		return body[:len(body)/2]
	case scenarios.FaultMalformed:
		return bytes.ReplaceAll(body, []byte(`"`), []byte(`'`))
	}
	return body
}
