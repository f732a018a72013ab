module github.com/flowbar/flowbar

go 1.26

require (
	github.com/sourcegraph/conc v0.3.0
	go.uber.org/goleak v1.3.0
	pgregory.net/rapid v1.3.0
)

require (
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
)
