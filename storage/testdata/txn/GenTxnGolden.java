// Generates the golden files of storage/txn_golden_test.go with Kafka 3.9's
// own classes (kafka-clients and kafka-storage jars):
//
//	java -cp "var/kafka-3.9/lib/*" storage/testdata/txn/GenTxnGolden.java storage/testdata/txn
//
// commit-marker.bin: MemoryRecords.withEndTransactionMarker(offset 0,
//   timestamp 1700000000123, leader epoch -1, producer 7, epoch 3,
//   COMMIT coordinator epoch 5)
// abort-marker.bin: the same with ABORT, producer 8, epoch 0, coordinator
//   epoch 2, timestamp 1700000000456, at offset 42, leader epoch 9
// 00000000000000000000.txnindex: TransactionIndex.append of
//   (producer 8, first 10, last 15, lso 12) and (producer 9, first 11, last 20, lso 21)
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.storage.internals.log.AbortedTxn;
import org.apache.kafka.storage.internals.log.TransactionIndex;

public class GenTxnGolden {
    static void write(File f, ByteBuffer b) throws Exception {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        Files.write(f.toPath(), out);
    }

    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        write(new File(dir, "commit-marker.bin"), MemoryRecords.withEndTransactionMarker(0L, 1700000000123L, -1, 7L, (short) 3,
            new EndTransactionMarker(ControlRecordType.COMMIT, 5)).buffer());
        write(new File(dir, "abort-marker.bin"), MemoryRecords.withEndTransactionMarker(42L, 1700000000456L, 9, 8L, (short) 0,
            new EndTransactionMarker(ControlRecordType.ABORT, 2)).buffer());
        File idx = new File(dir, "00000000000000000000.txnindex");
        idx.delete();
        TransactionIndex ti = new TransactionIndex(0L, idx);
        ti.append(new AbortedTxn(8L, 10L, 15L, 12L));
        ti.append(new AbortedTxn(9L, 11L, 20L, 21L));
        ti.flush();
        ti.close();
    }
}
