package main

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// palette has one distinct color per implementation, whichever are run;
// flowbar's is the strongest.
var palette = map[string]color.Color{
	workloads.Chan:        color.RGBA{R: 0x4e, G: 0x79, B: 0xa7, A: 0xff},
	workloads.ChanBatch:   color.RGBA{R: 0xa0, G: 0xcb, B: 0xe8, A: 0xff},
	workloads.Errgroup:    color.RGBA{R: 0xf2, G: 0x8e, B: 0x2b, A: 0xff},
	workloads.ConcPool:    color.RGBA{R: 0xff, G: 0xbe, B: 0x7d, A: 0xff},
	workloads.ConcStream:  color.RGBA{R: 0x9c, G: 0x75, B: 0x5f, A: 0xff},
	workloads.ConcIter:    color.RGBA{R: 0xd4, G: 0xa6, B: 0xc8, A: 0xff},
	workloads.Flowbar:     color.RGBA{R: 0xe1, G: 0x57, B: 0x59, A: 0xff},
	workloads.Floor:       color.RGBA{R: 0xba, G: 0xb0, B: 0xac, A: 0xff},
	workloads.Loop:        color.RGBA{R: 0x76, G: 0xb7, B: 0xb2, A: 0xff},
	workloads.ProgressOff: color.RGBA{R: 0x59, G: 0xa1, B: 0x4f, A: 0xff},
	workloads.ProgressOn:  color.RGBA{R: 0xed, G: 0xc9, B: 0x48, A: 0xff},
}

// writeChart draws, for every family, one bar per implementation with its
// ratio to the family's reference, and saves the chart to path (the
// extension chooses the format: .png, .svg, .pdf).
func writeChart(path string, results []result) error {
	p := plot.New()
	p.Title.Text = "ns/item ÷ reference in the same run (lower is better; reference = 1)"
	p.Y.Label.Text = "ratio to reference"
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true

	var order []string // implementations in legend order
	slots := 0
	for _, r := range results {
		for _, impl := range r.f.Impls {
			if !slices.Contains(order, impl) {
				order = append(order, impl)
			}
		}
		slots += len(r.f.Impls) + 1
	}
	const width, height = 12 * vg.Inch, 5 * vg.Inch
	barWidth := width * 0.8 / vg.Length(slots+1) * 0.85

	var ticks []plot.Tick
	var labels plotter.XYLabels
	legend := map[string]bool{}
	x := 0.0
	for _, r := range results {
		first := x
		for _, impl := range r.f.Impls {
			ratio := r.ratio(impl)
			bars, err := plotter.NewBarChart(plotter.Values{ratio}, barWidth)
			if err != nil {
				return fmt.Errorf("chart: %w", err)
			}
			bars.XMin = x
			bars.LineStyle.Width = 0
			bars.Color = palette[impl]
			if bars.Color == nil {
				bars.Color = color.Gray{Y: 128}
			}
			p.Add(bars)
			if !legend[impl] {
				legend[impl] = true
				p.Legend.Add(impl, bars)
			}
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: ratio})
			labels.Labels = append(labels.Labels, fmt.Sprintf("%.2f", ratio))
			x++
		}
		ticks = append(ticks, plot.Tick{Value: (first + x - 1) / 2, Label: r.f.Name + " (ref " + r.f.Reference + ")"})
		x++
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -1, x-1

	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Color = color.Gray{Y: 96}
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(one)

	l, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].XAlign = -0.5
		l.TextStyle[i].YAlign = 0
	}
	p.Add(l)
	if err := p.Save(width, height, path); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
