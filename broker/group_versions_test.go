package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/protocol"
)

// A consumer's whole group life at every JoinGroup version, each other
// group API at the matching version, every request and answer through kmsg
// at its version: the fields each version carries come back as Kafka 3.9
// sets them (JoinGroupResponse: protocol name "" before v7, the member id
// asked for from v4; SyncGroup v5 protocol type and name; DescribeGroups
// authorized operations from v3; LeaveGroup members from v3).
func TestGroupAPIsEveryVersion(t *testing.T) {
	s := newGroupTestServer(t, map[string]int32{"t": 2}, func(c *group.Config) { c.InitialRebalanceDelay = 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rt := func(req kmsg.Request, h func(kmsg.Request) kmsg.Response) kmsg.Response {
		t.Helper()
		return roundTrip(t, req, h)
	}
	clamp := func(v, hi int16) int16 { return min(v, hi) }
	for jv := int16(0); jv <= 9; jv++ {
		groupID := "g" + string(rune('0'+jv))
		join := kmsg.NewPtrJoinGroupRequest()
		join.Version, join.Group, join.ProtocolType = jv, groupID, "consumer"
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name, proto.Metadata = "range", []byte{1, 2}
		join.Protocols = append(join.Protocols, proto)
		joinH := func(r kmsg.Request) kmsg.Response {
			return s.handleJoinGroup(ctx, protocol.RequestHeader{ClientID: kmsg.StringPtr("c")}, r.(*kmsg.JoinGroupRequest))
		}
		jr := rt(join, joinH).(*kmsg.JoinGroupResponse)
		if jv >= 4 {
			if jr.ErrorCode != kerr.MemberIDRequired.Code || jr.MemberID == "" {
				t.Fatalf("JoinGroup v%d: %v member %q, want MEMBER_ID_REQUIRED with an id", jv, kerr.ErrorForCode(jr.ErrorCode), jr.MemberID)
			}
			join.MemberID = jr.MemberID
			jr = rt(join, joinH).(*kmsg.JoinGroupResponse)
		}
		if jr.ErrorCode != 0 || jr.Generation != 1 || jr.LeaderID != jr.MemberID || len(jr.Members) != 1 {
			t.Fatalf("JoinGroup v%d: %+v", jv, jr)
		}
		if jr.Protocol == nil || *jr.Protocol != "range" {
			t.Fatalf("JoinGroup v%d: protocol %v", jv, jr.Protocol)
		}
		if jv >= 7 && deref(jr.ProtocolType) != "consumer" {
			t.Fatalf("JoinGroup v%d: protocol type %v", jv, jr.ProtocolType)
		}
		member := jr.MemberID

		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Version, sync.Group, sync.Generation, sync.MemberID = clamp(jv, 5), groupID, 1, member
		sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		sa := kmsg.NewSyncGroupRequestGroupAssignment()
		sa.MemberID, sa.MemberAssignment = member, []byte{7}
		sync.GroupAssignment = append(sync.GroupAssignment, sa)
		sr := rt(sync, func(r kmsg.Request) kmsg.Response { return s.handleSyncGroup(ctx, r.(*kmsg.SyncGroupRequest)) }).(*kmsg.SyncGroupResponse)
		if sr.ErrorCode != 0 || len(sr.MemberAssignment) != 1 || sr.MemberAssignment[0] != 7 {
			t.Fatalf("SyncGroup v%d: %+v", sync.Version, sr)
		}
		if sync.Version >= 5 && (deref(sr.ProtocolType) != "consumer" || deref(sr.Protocol) != "range") {
			t.Fatalf("SyncGroup v%d: protocol %v/%v", sync.Version, deref(sr.ProtocolType), deref(sr.Protocol))
		}

		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Version, hb.Group, hb.Generation, hb.MemberID = clamp(jv, 4), groupID, 1, member
		hr := rt(hb, func(r kmsg.Request) kmsg.Response { return s.handleHeartbeat(r.(*kmsg.HeartbeatRequest)) }).(*kmsg.HeartbeatResponse)
		if hr.ErrorCode != 0 {
			t.Fatalf("Heartbeat v%d: %v", hb.Version, kerr.ErrorForCode(hr.ErrorCode))
		}

		cv := max(clamp(jv, 8), 1) // v0 commits to ZooKeeper
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.Version, commit.Group, commit.Generation, commit.MemberID = cv, groupID, 1, member
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset, cp.Metadata = 1, 42, kmsg.StringPtr("md")
		cp.LeaderEpoch = 3
		ct.Partitions = append(ct.Partitions, cp)
		commit.Topics = append(commit.Topics, ct)
		cr := rt(commit, func(r kmsg.Request) kmsg.Response { return s.handleOffsetCommit(ctx, r.(*kmsg.OffsetCommitRequest)) }).(*kmsg.OffsetCommitResponse)
		if len(cr.Topics) != 1 || len(cr.Topics[0].Partitions) != 1 || cr.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("OffsetCommit v%d: %+v", cv, cr)
		}

		fv := max(clamp(jv, 8), 1)
		fetch := kmsg.NewPtrOffsetFetchRequest()
		fetch.Version = fv
		if fv >= 8 {
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = groupID
			ft := kmsg.NewOffsetFetchRequestGroupTopic()
			ft.Topic, ft.Partitions = "t", []int32{1}
			g.Topics = append(g.Topics, ft)
			fetch.Groups = append(fetch.Groups, g)
		} else {
			fetch.Group = groupID
			ft := kmsg.NewOffsetFetchRequestTopic()
			ft.Topic, ft.Partitions = "t", []int32{1}
			fetch.Topics = append(fetch.Topics, ft)
		}
		fr := rt(fetch, func(r kmsg.Request) kmsg.Response { return s.handleOffsetFetch(r.(*kmsg.OffsetFetchRequest)) }).(*kmsg.OffsetFetchResponse)
		wantEpoch := int32(-1)
		if fv >= 5 && cv >= 6 {
			wantEpoch = 3
		}
		var off int64
		var epoch int32
		var md *string
		if fv >= 8 {
			if len(fr.Groups) != 1 || len(fr.Groups[0].Topics) != 1 || len(fr.Groups[0].Topics[0].Partitions) != 1 {
				t.Fatalf("OffsetFetch v%d: %+v", fv, fr)
			}
			p := fr.Groups[0].Topics[0].Partitions[0]
			off, epoch, md = p.Offset, p.LeaderEpoch, p.Metadata
		} else {
			if len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 {
				t.Fatalf("OffsetFetch v%d: %+v", fv, fr)
			}
			p := fr.Topics[0].Partitions[0]
			off, epoch, md = p.Offset, p.LeaderEpoch, p.Metadata
		}
		if off != 42 || deref(md) != "md" || (fv >= 5 && epoch != wantEpoch) {
			t.Fatalf("OffsetFetch v%d after commit v%d: offset %d epoch %d metadata %v", fv, cv, off, epoch, deref(md))
		}

		dv := clamp(jv, 5)
		desc := kmsg.NewPtrDescribeGroupsRequest()
		desc.Version, desc.Groups, desc.IncludeAuthorizedOperations = dv, []string{groupID}, true
		dr := rt(desc, func(r kmsg.Request) kmsg.Response { return s.handleDescribeGroups(r.(*kmsg.DescribeGroupsRequest)) }).(*kmsg.DescribeGroupsResponse)
		if len(dr.Groups) != 1 || dr.Groups[0].ErrorCode != 0 || dr.Groups[0].State != "Stable" || len(dr.Groups[0].Members) != 1 {
			t.Fatalf("DescribeGroups v%d: %+v", dv, dr)
		}
		if dv >= 3 && dr.Groups[0].AuthorizedOperations != groupAuthorizedOperations {
			t.Fatalf("DescribeGroups v%d: operations %b", dv, dr.Groups[0].AuthorizedOperations)
		}

		lv := clamp(jv, 4)
		list := kmsg.NewPtrListGroupsRequest()
		list.Version = lv
		lr := rt(list, func(r kmsg.Request) kmsg.Response { return s.handleListGroups(r.(*kmsg.ListGroupsRequest)) }).(*kmsg.ListGroupsResponse)
		found := false
		for _, g := range lr.Groups {
			if g.Group == groupID {
				found = g.ProtocolType == "consumer" && (lv < 4 || g.GroupState == "Stable")
			}
		}
		if lr.ErrorCode != 0 || !found {
			t.Fatalf("ListGroups v%d: %+v", lv, lr)
		}

		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Version, leave.Group = clamp(jv, 5), groupID
		if leave.Version < 3 {
			leave.MemberID = member
		} else {
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = member
			leave.Members = append(leave.Members, m)
		}
		lgr := rt(leave, func(r kmsg.Request) kmsg.Response { return s.handleLeaveGroup(r.(*kmsg.LeaveGroupRequest)) }).(*kmsg.LeaveGroupResponse)
		if lgr.ErrorCode != 0 || (leave.Version >= 3 && (len(lgr.Members) != 1 || lgr.Members[0].ErrorCode != 0)) {
			t.Fatalf("LeaveGroup v%d: %+v", leave.Version, lgr)
		}

		od := kmsg.NewPtrOffsetDeleteRequest()
		od.Group = groupID
		odt := kmsg.NewOffsetDeleteRequestTopic()
		odt.Topic = "t"
		odp := kmsg.NewOffsetDeleteRequestTopicPartition()
		odp.Partition = 0 // t-1 keeps its offset: an Empty group without offsets is removed (cleanupGroupMetadata)
		odt.Partitions = append(odt.Partitions, odp)
		od.Topics = append(od.Topics, odt)
		odr := rt(od, func(r kmsg.Request) kmsg.Response { return s.handleOffsetDelete(r.(*kmsg.OffsetDeleteRequest)) }).(*kmsg.OffsetDeleteResponse)
		if odr.ErrorCode != 0 || len(odr.Topics) != 1 || odr.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("OffsetDelete: %+v", odr)
		}

		del := kmsg.NewPtrDeleteGroupsRequest()
		del.Version, del.Groups = clamp(jv, 2), []string{groupID}
		delr := rt(del, func(r kmsg.Request) kmsg.Response { return s.handleDeleteGroups(r.(*kmsg.DeleteGroupsRequest)) }).(*kmsg.DeleteGroupsResponse)
		if len(delr.Groups) != 1 || delr.Groups[0].ErrorCode != 0 {
			t.Fatalf("DeleteGroups v%d: %+v", del.Version, delr)
		}
	}
}
