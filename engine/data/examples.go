package data

// TargetSize is the number of target values per example: one class index. With Len,
// ExampleSize and Gather it makes a Dataset an engine.Examples.
func (d *Dataset) TargetSize() int { return 1 }
