namespace Firezone.Snownet.Ice;

/// <summary>Check state of a candidate pair (RFC 8445 §6.1.2.6).</summary>
internal enum CandidatePairState
{
    /// <summary>Waits until a pair of another foundation unfreezes it.</summary>
    Frozen,

    /// <summary>Will be checked when pacing allows.</summary>
    Waiting,

    /// <summary>Checks sent, no answer yet.</summary>
    InProgress,

    /// <summary>A check got a valid answer: the pair is valid (and keeps being checked for consent).</summary>
    Succeeded,

    /// <summary>Checks went unanswered (or were refused): the pair is pruned.</summary>
    Failed,
}
