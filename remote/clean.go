package remote

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect connects to the NATS server at url (nats.DefaultURL when url is
// empty) with opts, and says which server could not be reached when it
// fails: the connection a driver's [Map] and a worker's [Serve] take. It
// blocks until the connection is made or fails.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("remote: cannot reach a NATS server at %s: %w", url, err)
	}
	return nc, nil
}

// Clean deletes the streams (and with them the consumers) of the remote
// stage name from the server of nc: what a driver that was killed leaves
// behind, which makes the next driver of that stage fail with [ErrSetup].
// A stage with nothing left is not an error. It blocks until the server
// has answered; do not call it while a driver of the stage runs. It
// panics if nc is nil or name is not a valid stage name.
func Clean(ctx context.Context, nc *nats.Conn, name string) error {
	if nc == nil {
		panic("remote: Clean: connection is nil")
	}
	checkName("Clean", name)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("remote: Clean %q: %w", name, err)
	}
	n := namesOf(name)
	var errs []error
	for _, s := range []string{n.workStream, n.resStream} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("remote: Clean %q: deleting stream %s: %w", name, s, err))
		}
	}
	return errors.Join(errs...)
}
