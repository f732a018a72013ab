package stage_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func ExampleLines() {
	p := pipeline.New()
	lines := stage.Lines(p, strings.NewReader("first line\nsecond\r\nthird, no newline"))
	lengths := stage.Map(lines, func(_ context.Context, l stage.Line) (int, error) { return len(l.Text), nil })
	byLine, _ := sink.ByKey(context.Background(), lengths, func(l stage.Line, _ int) int64 { return l.Number })
	fmt.Println(byLine)
	// The source's weight is the bytes read; the reader's length is its total.
	total, _ := p.Stages()[0].WeightTotal()
	fmt.Println(p.Stages()[0].Counts().Weight, "of", total, "bytes")
	// Output:
	// map[1:10 2:6 3:17]
	// 36 of 36 bytes
}

func ExampleFileLines() {
	dir, _ := os.MkdirTemp("", "flowbar-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "lines.txt")
	os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644)

	p := pipeline.New()
	first, _ := sink.First(context.Background(), stage.FileLines(p, path), 2)
	for _, r := range first {
		fmt.Printf("%v: %s\n", r.Input, r.Value.Text)
	}
	// Output:
	// line 1: one
	// line 2: two
}

func ExampleCSV() {
	data := "item,price\napple,1.25\npear\nplum,0.5\n"
	p := pipeline.New(pipeline.WithContinueOnError())
	records := stage.CSV(p, strings.NewReader(data), stage.WithName("csv"))
	items, err := sink.Slice(context.Background(), stage.OrderedMap(records,
		func(_ context.Context, r stage.Record) (string, error) { return r.Fields[0], nil }))
	fmt.Println(items)
	// A malformed row fails alone, named by its line.
	for _, ie := range pipeline.ItemErrors[stage.Record](err) {
		fmt.Println(ie)
	}
	// Output:
	// [item apple plum]
	// pipeline: stage "csv": item line 3: record on line 3: wrong number of fields
}

func ExampleWalk() {
	root, _ := os.MkdirTemp("", "flowbar-walk")
	defer os.RemoveAll(root)
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(root, "sub", "b.txt"), []byte("flowbar"), 0o644)

	p := pipeline.New()
	files := stage.Walk(p, root, stage.WithName("walk"))
	sizes, _ := sink.ByKey(context.Background(), files, func(f stage.File, _ stage.File) string {
		rel, _ := filepath.Rel(root, f.Path)
		return filepath.ToSlash(rel)
	})
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		fmt.Println(name, sizes[name].Size)
	}
	// The walk's weight is the bytes of the files it found.
	fmt.Println(p.Stages()[0].Counts().Weight, p.Stages()[0].Unit())
	// Output:
	// a.txt 5
	// sub/b.txt 7
	// 12 bytes
}

func ExampleFromSeq2() {
	p := pipeline.New()
	prices := stage.FromSeq2(p, maps.All(map[string]float64{"apple": 1.25, "pear": 0.8}))
	withTax := stage.Map(prices, func(_ context.Context, price float64) (float64, error) { return price * 1.2, nil })
	byItem, _ := sink.ByInput(context.Background(), withTax) // keyed by the sequence's keys
	fmt.Printf("%.2f %.2f\n", byItem["apple"], byItem["pear"])
	// Output:
	// 1.50 0.96
}

func ExampleFromMap() {
	p := pipeline.New()
	stock := stage.FromMap(p, map[string]int{"apple": 3, "pear": 0, "plum": 7})
	inStock := stage.Filter(stock, func(n int) bool { return n > 0 })
	got, _ := sink.ByInput(context.Background(), inStock)
	fmt.Println(got)
	// Output:
	// map[apple:3 plum:7]
}

func ExampleFromMapSorted() {
	p := pipeline.New()
	m := map[int]string{3: "c", 1: "a", 2: "b"}
	got, _ := sink.Slice(context.Background(), stage.FromMapSorted(p, m))
	fmt.Println(got)
	// Output:
	// [a b c]
}
