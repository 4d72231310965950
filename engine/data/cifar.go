package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html): every record is one
// label byte followed by 3072 pixel bytes — the 1024 red values, then green, then blue, each
// plane 32×32 row-major. That is already CHW, so records decode straight into NCHW.
const (
	cifarClasses     = 10
	cifarChannels    = 3
	cifarSide        = 32
	cifarImageBytes  = cifarChannels * cifarSide * cifarSide
	cifarRecordBytes = 1 + cifarImageBytes
)

// cifarFileRecords is the number of records in each standard batch file. A variable only so the
// tests can exercise LoadCIFAR10 on small files.
var cifarFileRecords = 10000

var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFile   = "test_batch.bin"
)

// cifarSubdir is the folder the official archive cifar-10-binary.tar.gz extracts to.
const cifarSubdir = "cifar-10-batches-bin"

// ReadCIFARBatch reads one CIFAR-10 binary batch file holding any whole number of records (the
// standard files hold 10,000). Pixels become byte/255 in [0, 1]; examples have shape
// (3, 32, 32). The data set is named after the file. Errors name the file.
func ReadCIFARBatch(path string) (*Dataset, error) {
	n, err := cifarRecordCount(path)
	if err != nil {
		return nil, err
	}
	pix := make([]float32, n*cifarImageBytes)
	labels := make([]int32, n)
	if err := decodeCIFAR(path, n, pix, labels); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return New(name, pix, labels, cifarChannels, cifarSide, cifarSide, cifarClasses)
}

// LoadCIFAR10 reads the CIFAR-10 training set (data_batch_1.bin … data_batch_5.bin, 50,000
// examples, in that order) and test set (test_batch.bin, 10,000) from dir, or from
// dir/cifar-10-batches-bin where the official archive puts them. gaze does not download
// CIFAR-10; users bring the "CIFAR-10 binary version". Each file must hold exactly 10,000
// records. The data sets are named "cifar10-train" and "cifar10-test".
func LoadCIFAR10(dir string) (train, test *Dataset, err error) {
	if _, err := os.Stat(filepath.Join(dir, cifarTrainFiles[0])); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, cifarSubdir, cifarTrainFiles[0])); err == nil {
			dir = filepath.Join(dir, cifarSubdir)
		}
	}
	all := append(append([]string(nil), cifarTrainFiles...), cifarTestFile)
	var missing []string
	for _, name := range all {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("data: %w", err)
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("data: CIFAR-10: %s missing in %s; gaze does not download CIFAR-10: get the "+
			"\"CIFAR-10 binary version\" (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html "+
			"and extract it there (the files may sit in %s/ below it)", strings.Join(missing, ", "), dir, cifarSubdir)
	}
	for _, name := range all {
		p := filepath.Join(dir, name)
		n, err := cifarRecordCount(p)
		if err != nil {
			return nil, nil, err
		}
		if n != cifarFileRecords {
			return nil, nil, fmt.Errorf("data: %s: holds %d records, a CIFAR-10 batch file holds %d (%d bytes)",
				p, n, cifarFileRecords, cifarFileRecords*cifarRecordBytes)
		}
	}
	if train, err = loadCIFARFiles("cifar10-train", dir, cifarTrainFiles); err != nil {
		return nil, nil, err
	}
	if test, err = loadCIFARFiles("cifar10-test", dir, []string{cifarTestFile}); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// loadCIFARFiles decodes standard-size files one after another into a single allocation.
func loadCIFARFiles(name, dir string, files []string) (*Dataset, error) {
	per := cifarFileRecords
	pix := make([]float32, len(files)*per*cifarImageBytes)
	labels := make([]int32, len(files)*per)
	for i, f := range files {
		if err := decodeCIFAR(filepath.Join(dir, f), per,
			pix[i*per*cifarImageBytes:(i+1)*per*cifarImageBytes], labels[i*per:(i+1)*per]); err != nil {
			return nil, err
		}
	}
	return New(name, pix, labels, cifarChannels, cifarSide, cifarSide, cifarClasses)
}

// cifarRecordCount returns the number of records in the batch file at path from its size.
func cifarRecordCount(path string) (int, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("data: CIFAR-10 batch %s does not exist; gaze does not download CIFAR-10: "+
				"bring the real files (the \"CIFAR-10 binary version\" from https://www.cs.toronto.edu/~kriz/cifar.html)", path)
		}
		return 0, fmt.Errorf("data: %w", err)
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("data: %s: not a regular file", path)
	}
	if size == 0 || size%cifarRecordBytes != 0 {
		return 0, fmt.Errorf("data: %s: %d bytes is not a positive whole number of %d-byte CIFAR-10 records "+
			"(1 label byte + 3072 pixel bytes); is this the binary version, uncompressed?", path, size, cifarRecordBytes)
	}
	n := size / cifarRecordBytes
	if _, ok := mulChecked(int(n), cifarImageBytes); !ok {
		return 0, fmt.Errorf("data: %s: %d records is too many", path, n)
	}
	return int(n), nil
}

// decodeCIFAR reads n records from path into pix (n·3072 values) and labels (n).
func decodeCIFAR(path string, n int, pix []float32, labels []int32) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var rec [cifarRecordBytes]byte
	for i := range n {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("data: %s: truncated at record %d, want %d records (%d bytes)", path, i, n, n*cifarRecordBytes)
			}
			return fmt.Errorf("data: %s: record %d: %w", path, i, err)
		}
		if rec[0] >= cifarClasses {
			return fmt.Errorf("data: %s: record %d has label %d, want 0..%d", path, i, rec[0], cifarClasses-1)
		}
		labels[i] = int32(rec[0])
		out := pix[i*cifarImageBytes : (i+1)*cifarImageBytes]
		for j, b := range rec[1:] {
			out[j] = byteToUnit[b]
		}
	}
	// The size was checked before reading; more bytes now means the file changed underneath.
	if extra, err := io.Copy(io.Discard, br); err != nil || extra > 0 {
		return fmt.Errorf("data: %s: expected exactly %d records (%d bytes) but the file is longer or unreadable (%d extra bytes, %v)",
			path, n, n*cifarRecordBytes, extra, err)
	}
	return nil
}
