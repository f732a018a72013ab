package stage_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// benchText is 100,000 lines of 20 to 60 bytes.
var benchText = func() string {
	var b strings.Builder
	for i := range 100_000 {
		b.WriteString(strings.Repeat("w", 20+i%41))
		b.WriteByte('\n')
	}
	return b.String()
}()

// BenchmarkLines compares the Lines source into a counting sink with a
// bufio.Scanner loop that counts lines and copies each into a string, as
// the source does.
func BenchmarkLines(b *testing.B) {
	b.Run("flowbar", func(b *testing.B) {
		for b.Loop() {
			n, err := sink.Count(context.Background(), stage.Lines(pipeline.New(), strings.NewReader(benchText)))
			if err != nil || n != 100_000 {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/item")
	})
	b.Run("scanner", func(b *testing.B) {
		for b.Loop() {
			sc := bufio.NewScanner(strings.NewReader(benchText))
			n, total := 0, 0
			for sc.Scan() {
				s := sc.Text()
				n++
				total += len(s)
			}
			if n != 100_000 || total == 0 {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/item")
	})
}

// BenchmarkCSV compares the CSV source into a counting sink with a loop
// over csv.Reader.Read.
func BenchmarkCSV(b *testing.B) {
	var sb strings.Builder
	for i := range 50_000 {
		sb.WriteString("12345,apple,")
		sb.WriteString(strings.Repeat("x", i%20))
		sb.WriteString(",3.25\n")
	}
	data := sb.String()
	b.Run("flowbar", func(b *testing.B) {
		for b.Loop() {
			n, err := sink.Count(context.Background(), stage.CSV(pipeline.New(), strings.NewReader(data)))
			if err != nil || n != 50_000 {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50_000), "ns/item")
	})
	b.Run("csvreader", func(b *testing.B) {
		for b.Loop() {
			r := csv.NewReader(strings.NewReader(data))
			n := 0
			for {
				_, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 50_000 {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50_000), "ns/item")
	})
}
