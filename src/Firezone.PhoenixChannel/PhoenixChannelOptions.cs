using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.PhoenixChannel.Backoff;

namespace Firezone.PhoenixChannel;

/// <summary>Configuration of a <see cref="PhoenixChannel"/>.</summary>
public sealed class PhoenixChannelOptions
{
    /// <summary>The login URL (<see cref="LoginUrl.Client"/>, <see cref="LoginUrl.Gateway"/> or <see cref="LoginUrl.Relay"/>).</summary>
    public required LoginUrl LoginUrl { get; init; }

    /// <summary>The login topic: <c>client</c>, <c>gateway</c> or <c>relay</c>.</summary>
    public required string Topic { get; init; }

    /// <summary>The User-Agent header (<see cref="UserAgent.ForConnlib"/> or <see cref="UserAgent.ForRelay"/>).</summary>
    public required string UserAgent { get; init; }

    /// <summary>The join payload, sent on every (re)connect: <c>null</c> for clients and gateways,
    /// <c>{"stamp_secret": "…"}</c> for relays.</summary>
    public JsonNode? JoinPayload { get; init; }

    /// <summary>The reconnect policy; defaults to <see cref="ReconnectPolicy.Gateway"/> (never give up).</summary>
    public ReconnectPolicy ReconnectPolicy { get; init; } = ReconnectPolicy.Gateway;

    /// <summary>The clock (monotonic timestamps drive heartbeats and backoff); <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Bound on the TCP connect phase of an attempt, over all addresses (5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Called with each TCP socket before it connects to the portal (null: nothing), e.g. to set <c>SO_MARK</c> so the
    /// portal connection bypasses a VPN's own routes. An exception from it fails that connection attempt.
    /// </summary>
    public Action<System.Net.Sockets.Socket>? ConfigureSocket { get; init; }

    /// <summary>Heartbeat period while connected (30 s; the portal drops idle gateways after 37 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a heartbeat may go unanswered before the channel reconnects (5 s).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How typed payloads are serialized (snake_case by default, like the portal).</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; init; } = PhoenixJson.DefaultOptions;

    /// <summary>Seed for the backoff's randomisation (tests, reproducible runs); null uses a random seed.</summary>
    public int? RandomSeed { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(LoginUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(Topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(UserAgent);
        ArgumentNullException.ThrowIfNull(ReconnectPolicy);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ReconnectPolicy.Validate();
        if (ConnectTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ConnectTimeout));
        if (HeartbeatInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(HeartbeatInterval));
        if (HeartbeatTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(HeartbeatTimeout));
    }
}
