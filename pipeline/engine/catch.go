package engine

// Catch calls f and returns nil, or, when f panics, the [*PanicError] the
// panic becomes (its value, stack and location); the panic goes no further.
// It is for operators that hold several items when they call a user
// function (a map over batches): the engine fails only the item Next last
// returned when Work panics, so such an operator catches the panic itself
// and fails each item it held. It blocks for as long as f runs.
func Catch(f func()) (pe *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			pe = newPanicError(v)
		}
	}()
	f()
	return nil
}
