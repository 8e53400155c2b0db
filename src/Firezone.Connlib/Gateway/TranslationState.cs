using Firezone.Connlib.Model;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// A permanent DNS-resource translation: one proxy IP of a client mapped to one real IP of a name of a DNS resource,
/// with the liveness timeline that decides when the name should be resolved again (tunnel spec §5.5, upstream
/// <c>TranslationState</c>).
/// </summary>
/// <remarks>
/// Outgoing traffic starts a 1 s "ack grace" period if, looking <see cref="UsedWindow"/> ahead, no incoming traffic
/// would have been seen for <see cref="ConntrackWindow"/> (since the last incoming packet, or since creation); incoming
/// traffic clears it. The translation is expired once the grace period is at least <see cref="AckGrace"/> old and
/// nothing came in for <see cref="ConntrackWindow"/>. A never-used translation never expires.
/// </remarks>
internal sealed class TranslationState
{
    /// <summary>How long without incoming traffic counts as "no responses" (conntrack's UDP stream timeout).</summary>
    public static readonly TimeSpan ConntrackWindow = TimeSpan.FromSeconds(120);

    /// <summary>How far outgoing traffic looks ahead when it decides to start the grace period.</summary>
    public static readonly TimeSpan UsedWindow = TimeSpan.FromSeconds(10);

    /// <summary>How long an answer may take after the packet that started the grace period.</summary>
    public static readonly TimeSpan AckGrace = TimeSpan.FromSeconds(1);

    /// <summary>Creates a fresh translation.</summary>
    public TranslationState(ResourceId resource, string name, IpKey resolvedIp, TimeSpan now)
    {
        Resource = resource;
        Name = name;
        ResolvedIp = resolvedIp;
        CreatedAt = now;
    }

    /// <summary>The DNS resource the translation belongs to.</summary>
    public ResourceId Resource { get; }

    /// <summary>The concrete name (normalised: lower case, no trailing dot).</summary>
    public string Name { get; }

    /// <summary>The real IP the proxy IP maps to.</summary>
    public IpKey ResolvedIp { get; }

    /// <summary>When the translation was created.</summary>
    public TimeSpan CreatedAt { get; }

    /// <summary>The last packet from the real IP.</summary>
    public TimeSpan? LastIncoming { get; private set; }

    /// <summary>The last packet to the real IP.</summary>
    public TimeSpan? LastOutgoing { get; private set; }

    /// <summary>When outgoing traffic found the real IP silent (the start of the ack grace period).</summary>
    public TimeSpan? AckGraceStartedAt { get; private set; }

    /// <summary>True when the name should be resolved again (see the remarks).</summary>
    public bool IsExpired(TimeSpan now) => AckGraceStartedAt is { } started && now - started >= AckGrace && NoIncomingFor(now);

    /// <summary>True when nothing came in for <see cref="ConntrackWindow"/> (counted from creation if nothing ever did).</summary>
    public bool NoIncomingFor(TimeSpan now) => now - (LastIncoming ?? CreatedAt) >= ConntrackWindow;

    /// <summary>A packet from the real IP reached the client.</summary>
    public void OnIncoming(TimeSpan now)
    {
        LastIncoming = now;
        AckGraceStartedAt = null;
    }

    /// <summary>A packet of the client went to the real IP.</summary>
    public void OnOutgoing(TimeSpan now)
    {
        if (AckGraceStartedAt is null && NoIncomingFor(now + UsedWindow))
        {
            AckGraceStartedAt = now;
        }

        LastOutgoing = now;
    }
}
