package storage

// TopicCodec is the codec a topic's compression.type imposes on appended
// batches; ok is false for "producer" (keep the producer's codec).
func TopicCodec(compressionType string) (codec int8, ok bool) {
	switch compressionType {
	case "uncompressed":
		return CodecNone, true
	case "gzip":
		return CodecGzip, true
	case "snappy":
		return CodecSnappy, true
	case "lz4":
		return CodecLZ4, true
	case "zstd":
		return CodecZstd, true
	}
	return 0, false
}

// Recompress rewrites a produced batch whose codec is not codec, as
// Kafka's LogValidator does when a topic's compression.type is not
// "producer": records, producer id, epoch, sequence and the transactional
// bit are kept. A batch already in codec, and a control batch, is returned
// as it is.
func Recompress(batch []byte, codec int8) ([]byte, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Compression() == codec || h.IsControl() {
		return batch, nil
	}
	recs, err := Records(batch)
	if err != nil {
		return nil, err
	}
	h.Attributes = h.Attributes&^attrCompressionMask | int16(codec)
	return BuildBatch(h, recs)
}
