package broker

import (
	"context"
)

// ConfigureAuthorizer builds the authorizer from authorizer.class.name,
// super.users and allow.everyone.if.no.acl.found, creates the ACL znodes
// and loads every ACL (AclAuthorizer.configure), before the broker serves
// a request. An unsupported class or a bad value fails naming the key.
// The change watchers start with Serve.
func (s *Server) ConfigureAuthorizer() error {
	a, err := newACLAuthorizer(s.cfg.StaticConfigs, nil, s.logger)
	if err != nil || a == nil {
		return err
	}
	if s.zk == nil {
		return nil
	}
	a.store = s.zk
	if err := a.load(); err != nil {
		return err
	}
	s.authz = a
	s.logger.Info("ACL authorizer on", "super_users", len(a.superUsers), "allow_everyone_if_no_acl_found", a.allowIfNoACL)
	return nil
}

// startAuthorizer runs the two ACL change listeners until ctx ends.
func (s *Server) startAuthorizer(ctx context.Context) {
	if s.authz == nil {
		return
	}
	for _, literal := range []bool{true, false} {
		s.wg.Add(1)
		go func(literal bool) {
			defer s.wg.Done()
			s.authz.watch(ctx, literal)
		}(literal)
	}
}

// authorize is AuthHelper.authorize for the request's principal and
// client host on a literal resource; true without an authorizer.
func (s *Server) authorize(ctx context.Context, op aclOperation, typ aclResourceType, name string) bool {
	if s.authz == nil {
		return true
	}
	sess := sessionFrom(ctx)
	return s.authz.authorize(sess.principal, hostOf(sess), op, typ, name)
}

// authorizeCluster is authorize on the cluster resource.
func (s *Server) authorizeCluster(ctx context.Context, op aclOperation) bool {
	return s.authorize(ctx, op, resCluster, clusterResourceName)
}

// authorizeByResourceType is AuthHelper.authorizeByResourceType.
func (s *Server) authorizeByResourceType(ctx context.Context, op aclOperation, typ aclResourceType) bool {
	if s.authz == nil {
		return true
	}
	sess := sessionFrom(ctx)
	return s.authz.authorizeByResourceType(sess.principal, hostOf(sess), op, typ)
}

// authorizedOperations is AuthHelper.authorizedOperations.
func (s *Server) authorizedOperations(ctx context.Context, typ aclResourceType, name string) int32 {
	sess := sessionFrom(ctx)
	return s.authz.authorizedOperations(sess.principal, hostOf(sess), typ, name)
}

// authorizedNames is AuthHelper.filterByAuthorized: whether the principal
// may do op on each of names; nil without an authorizer (all allowed).
func (s *Server) authorizedNames(ctx context.Context, op aclOperation, typ aclResourceType, names []string) map[string]bool {
	if s.authz == nil {
		return nil
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		if _, seen := out[n]; !seen {
			out[n] = s.authorize(ctx, op, typ, n)
		}
	}
	return out
}
