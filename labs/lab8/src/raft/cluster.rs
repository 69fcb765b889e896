//! An in-process cluster: an in-memory network between openraft nodes, and a harness that
//! starts, stops and restarts nodes over engines, writes through the leader and reads with
//! the read barrier.
//!
//! The network calls the target node's `Raft` directly (no serialization); a node that is
//! stopped or isolated is `Unreachable`. Every wait has a timeout that is an upper bound, never
//! a way to let time pass: the harness waits for a condition on a node's metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lab4::{Command, Op, Output};
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{BasicNode, Config, SnapshotPolicy};

use super::read::{ReadError, read_linearizable};
use super::store::{LogStore, StateMachineStore, open};
use super::{LogId, NodeId, Raft, StorageError, TypeConfig};
use crate::engine::Engine;

/// The longest any wait of the harness lasts before it reports a timeout.
pub const WAIT: Duration = Duration::from_secs(20);

/// What the harness reports.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A node's storage failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// openraft refused or failed.
    #[error("raft: {0}")]
    Raft(String),
    /// A condition was not reached within [`WAIT`].
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// A linearizable read was refused.
    #[error("read: {0}")]
    Read(#[from] ReadError),
    /// No such running node.
    #[error("node {0} is not running")]
    NotRunning(NodeId),
}

#[derive(Default)]
struct RouterState {
    nodes: BTreeMap<NodeId, Raft>,
    isolated: BTreeSet<NodeId>,
}

/// The in-memory network: which nodes run, and which are cut off.
#[derive(Clone, Default)]
pub struct Router {
    state: Arc<Mutex<RouterState>>,
}

impl Router {
    fn lock(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cuts `node` off: messages to and from it are lost until [`Router::heal`].
    pub fn isolate(&self, node: NodeId) {
        self.lock().isolated.insert(node);
    }

    /// Connects `node` again.
    pub fn heal(&self, node: NodeId) {
        self.lock().isolated.remove(&node);
    }

    fn target(&self, from: NodeId, to: NodeId) -> Result<Raft, Unreachable> {
        let state = self.lock();
        let down =
            |why: &str| Unreachable::new(&std::io::Error::new(std::io::ErrorKind::NotConnected, why.to_string()));
        if state.isolated.contains(&from) || state.isolated.contains(&to) {
            return Err(down("isolated"));
        }
        state.nodes.get(&to).cloned().ok_or_else(|| down("not running"))
    }

    /// The network of node `from`.
    pub fn network(&self, from: NodeId) -> Network {
        Network { router: self.clone(), from }
    }
}

/// The network factory of one node.
pub struct Network {
    router: Router,
    from: NodeId,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Connection {
        Connection { router: self.router.clone(), from: self.from, to: target }
    }
}

/// A connection from one node to another.
pub struct Connection {
    router: Router,
    from: NodeId,
    to: NodeId,
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self.router.target(self.from, self.to).map_err(RPCError::Unreachable)?;
        raft.append_entries(rpc).await.map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>>
    {
        let raft = self.router.target(self.from, self.to).map_err(RPCError::Unreachable)?;
        raft.install_snapshot(rpc).await.map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self.router.target(self.from, self.to).map_err(RPCError::Unreachable)?;
        raft.vote(rpc).await.map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }
}

/// The settings every node of the harness runs with: short timeouts (everything is in one
/// process), snapshots only when a test asks for one, the log purged right after a snapshot,
/// and snapshots sent in small chunks.
pub fn config() -> Arc<Config> {
    let config = Config {
        cluster_name: "lab8".to_string(),
        heartbeat_interval: 50,
        election_timeout_min: 300,
        election_timeout_max: 600,
        snapshot_policy: SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        snapshot_max_chunk_size: 1024,
        ..Config::default()
    };
    Arc::new(config.validate().expect("the harness's settings are valid"))
}

/// One running node.
#[derive(Clone)]
pub struct Node {
    /// Its Raft.
    pub raft: Raft,
    /// Its log store (a clone of the one openraft runs).
    pub log: LogStore,
    /// Its state machine (a clone of the one openraft runs).
    pub state_machine: StateMachineStore,
    /// Its engine.
    pub engine: Arc<dyn Engine>,
}

/// Waits for `future`, at most [`WAIT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> Result<T, ClusterError> {
    tokio::time::timeout(WAIT, future).await.map_err(|_| ClusterError::Timeout(what.to_string()))
}

/// Nodes over engines, connected by a [`Router`].
pub struct Cluster {
    /// The network.
    pub router: Router,
    nodes: BTreeMap<NodeId, Node>,
    members: BTreeSet<NodeId>,
    clock: u64,
}

impl Cluster {
    /// Starts a new cluster: a node per (empty) engine, and initializes the one with the lowest id with every id as a voter, which makes it elect
    /// itself at once. Returns when a leader is known.
    pub async fn start(engines: Vec<(NodeId, Arc<dyn Engine>)>) -> Result<Cluster, ClusterError> {
        Cluster::launch(engines, true).await
    }

    /// Starts a node per engine, each holding a node's state from an earlier run, without
    /// initializing anything. Returns when a leader is known.
    pub async fn resume(engines: Vec<(NodeId, Arc<dyn Engine>)>) -> Result<Cluster, ClusterError> {
        Cluster::launch(engines, false).await
    }

    async fn launch(engines: Vec<(NodeId, Arc<dyn Engine>)>, new: bool) -> Result<Cluster, ClusterError> {
        let mut cluster = Cluster {
            router: Router::default(),
            nodes: BTreeMap::new(),
            members: engines.iter().map(|(id, _)| *id).collect(),
            clock: 0,
        };
        for (id, engine) in engines {
            cluster.start_node(id, engine).await?;
        }
        let first = *cluster.members.first().ok_or_else(|| ClusterError::Raft("no nodes".to_string()))?;
        let node = cluster.node(first)?;
        if new {
            let members: BTreeMap<NodeId, BasicNode> =
                cluster.members.iter().map(|id| (*id, BasicNode::default())).collect();
            node.raft.initialize(members).await.map_err(|e| ClusterError::Raft(e.to_string()))?;
        }
        cluster.leader().await?;
        Ok(cluster)
    }

    /// Starts node `id` over `engine` (a restart, if the engine holds a node's state).
    pub async fn start_node(&mut self, id: NodeId, engine: Arc<dyn Engine>) -> Result<(), ClusterError> {
        let (log, state_machine) = open(engine.clone())?;
        let raft = Raft::new(id, config(), self.router.network(id), log.clone(), state_machine.clone())
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
        self.router.lock().nodes.insert(id, raft.clone());
        self.members.insert(id);
        self.nodes.insert(id, Node { raft, log, state_machine, engine });
        Ok(())
    }

    /// Stops node `id` (as a crash would, from the network's point of view) and returns its
    /// engine.
    pub async fn stop_node(&mut self, id: NodeId) -> Result<Arc<dyn Engine>, ClusterError> {
        let node = self.nodes.remove(&id).ok_or(ClusterError::NotRunning(id))?;
        self.router.lock().nodes.remove(&id);
        node.raft.shutdown().await.map_err(|e| ClusterError::Raft(e.to_string()))?;
        Ok(node.engine)
    }

    /// The running node `id`.
    pub fn node(&self, id: NodeId) -> Result<&Node, ClusterError> {
        self.nodes.get(&id).ok_or(ClusterError::NotRunning(id))
    }

    /// The ids of the running nodes.
    pub fn running(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The leader, once a running node that is not isolated reports itself as leader.
    pub async fn leader(&self) -> Result<NodeId, ClusterError> {
        let isolated = self.router.lock().isolated.clone();
        let candidates: Vec<(NodeId, Raft)> = self
            .nodes
            .iter()
            .filter(|(id, _)| !isolated.contains(id))
            .map(|(id, node)| (*id, node.raft.clone()))
            .collect();
        within("a leader", async {
            let mut watches: Vec<_> = candidates.iter().map(|(id, raft)| (*id, raft.metrics())).collect();
            loop {
                for (id, watch) in watches.iter_mut() {
                    if watch.borrow_and_update().current_leader == Some(*id) {
                        return *id;
                    }
                }
                // Wait for any node's metrics to change.
                let changed = watches.iter_mut().map(|(_, watch)| Box::pin(watch.changed()));
                let _ = futures_select(changed).await;
            }
        })
        .await
    }

    /// Submits `op` through the leader and returns its output once it is applied there.
    pub async fn write(&mut self, op: Op) -> Result<(Output, LogId), ClusterError> {
        self.clock += 1;
        let command = Command::new(self.clock, op);
        let leader = self.leader().await?;
        let raft = self.node(leader)?.raft.clone();
        let response = within("a client write", raft.client_write(command))
            .await?
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
        Ok((response.data, response.log_id))
    }

    /// Reads `key` linearizably at the leader.
    pub async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        let leader = self.leader().await?;
        let node = self.node(leader)?;
        let (value, _) =
            within("a linearizable read", read_linearizable(&node.raft, &node.state_machine, key)).await??;
        Ok(value)
    }

    /// Waits until node `id` has applied the entry at `index`.
    pub async fn wait_applied(&self, id: NodeId, index: u64) -> Result<(), ClusterError> {
        let raft = self.node(id)?.raft.clone();
        raft.wait(Some(WAIT))
            .applied_index_at_least(Some(index), format!("node {id} applied {index}"))
            .await
            .map_err(|e| ClusterError::Timeout(e.to_string()))?;
        Ok(())
    }

    /// Builds a snapshot on node `id` and waits until its log is purged up to it.
    pub async fn snapshot(&self, id: NodeId) -> Result<LogId, ClusterError> {
        let raft = self.node(id)?.raft.clone();
        let applied = raft.metrics().borrow().last_applied;
        let Some(applied) = applied else {
            return Err(ClusterError::Raft(format!("node {id} has applied nothing to snapshot")));
        };
        raft.trigger().snapshot().await.map_err(|e| ClusterError::Raft(e.to_string()))?;
        raft.wait(Some(WAIT))
            .metrics(
                |m| {
                    m.snapshot.is_some_and(|s| s.index >= applied.index)
                        && m.purged.is_some_and(|p| p.index >= applied.index)
                },
                format!("node {id} snapshot and purge up to {}", applied.index),
            )
            .await
            .map_err(|e| ClusterError::Timeout(e.to_string()))?;
        Ok(applied)
    }

    /// Stops every node.
    pub async fn shutdown(mut self) -> Result<BTreeMap<NodeId, Arc<dyn Engine>>, ClusterError> {
        let mut engines = BTreeMap::new();
        for id in self.running() {
            engines.insert(id, self.stop_node(id).await?);
        }
        Ok(engines)
    }
}

/// Resolves when the first of `futures` does (a small `select_all`, to need no more crates).
async fn futures_select<F: Future + Unpin>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(|cx| {
        for future in futures.iter_mut() {
            if std::pin::Pin::new(future).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}
