package contract

import (
	"errors"
	"fmt"
	"net"
)

// UsageError is an error in the options, found before any request: Field names the field at
// fault (Target, Regions or Token of Options; Upstream of ProxyOptions), Value the value at
// fault ("" when it is missing) and Err what is wrong with it, so that the message reads
// `Target "localhost:8080": give a base URL such as ...`. A command line words it with its
// own flags from Field and Value.
type UsageError struct {
	Field string
	Value string
	Err   error
}

func (e UsageError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err)
}

func (e UsageError) Unwrap() error { return e.Err }

// UnreachableError is a target no connection could be made to (refused, no such host, timed
// out): nothing answers there, so the run stops instead of reporting every case as an error.
type UnreachableError struct {
	Target string // the base URL, or a region's host
	Vendor bool   // the target is one of the vendor's hosts
	Err    error  // why the connection failed
}

func (e *UnreachableError) Error() string {
	if e.Vendor {
		return fmt.Sprintf("cannot connect to %s (%v): check the network and proxy settings, or leave that region out of Regions", e.Target, e.Err)
	}
	return fmt.Sprintf("cannot connect to %s (%v): is the mock running there? Start it with idvmock serve, or correct Target", e.Target, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// connectFailed reports whether err is a failure to connect at all, as opposed to a
// connection that broke or a protocol error.
func connectFailed(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}
