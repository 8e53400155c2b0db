namespace Firezone.Snownet;

/// <summary>Counters of a node (snownet spec §8); they only grow. Data traffic is not counted.</summary>
/// <param name="StunBytesToRelays">Bytes of every TURN message sent to relays (Binding, Allocate, Refresh, ChannelBind).</param>
/// <param name="Connections">Per established connection.</param>
public sealed record NodeStatistics(long StunBytesToRelays, IReadOnlyDictionary<ConnectionId, ConnectionStatistics> Connections);

/// <summary>Counters of one connection.</summary>
/// <param name="StunBytesToPeerDirect">Bytes of ICE checks sent directly to the peer.</param>
/// <param name="StunBytesToPeerRelayed">Bytes of ICE checks sent through a relay, ChannelData header included.</param>
public sealed record ConnectionStatistics(long StunBytesToPeerDirect, long StunBytesToPeerRelayed);
