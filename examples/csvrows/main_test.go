package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/stage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestProcessSumsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	body := "id,item,price,quantity\n1,apple,2.50,2\n2,pear,1.00,3\n3,fig,0.25,4\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	n, total, err := process(context.Background(), path, &progress)
	if err != nil || n != 3 || total != 9 {
		t.Fatalf("%d rows, total %v, %v; want 3 rows, total 9", n, total, err)
	}
	if !strings.Contains(progress.String(), "parse: done, 4 items") {
		t.Errorf("no summary of the parse stage:\n%s", progress.String())
	}
}

func TestProcessNamesTheMalformedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	body := "id,item,price,quantity\n1,apple,2.50,2\n2,pear\n3,fig,0.25,4\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := process(context.Background(), path, io.Discard)
	var ie *pipeline.ItemError[stage.Record]
	if !errors.As(err, &ie) || ie.Input.Line != 3 || ie.Stage != "read" {
		t.Fatalf("error %v, want the failure of line 3 in stage read", err)
	}
}

func TestProcessChecksTheHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(path, []byte("a,b,c,d\n1,x,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := process(context.Background(), path, io.Discard); err == nil || !strings.Contains(err.Error(), "item line 1: header") {
		t.Fatalf("error %v, want the header's", err)
	}
}

func TestGenerateThenProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	if err := generate(context.Background(), path, 5000); err != nil {
		t.Fatal(err)
	}
	n, _, err := process(context.Background(), path, io.Discard)
	if err != nil || n != 5000 {
		t.Fatalf("%d rows, %v", n, err)
	}
}
