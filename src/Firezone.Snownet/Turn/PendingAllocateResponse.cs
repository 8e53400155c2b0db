using Firezone.Snownet.Stun;

namespace Firezone.Snownet.Turn;

/// <summary>
/// An Allocate success still in the command queue. Its bytes are built when the host polls it, so that it carries the
/// port the allocation finally got (after retries on taken ports), or becomes a 508 if the allocation failed.
/// </summary>
internal sealed class PendingAllocateResponse(RelayAllocation allocation, TransactionId transactionId, byte[] key, uint lifetime)
{
    public RelayAllocation Allocation { get; } = allocation;

    public TransactionId TransactionId { get; } = transactionId;

    /// <summary>The request's MESSAGE-INTEGRITY key, to sign the response with.</summary>
    public byte[] Key { get; } = key;

    public uint Lifetime { get; } = lifetime;

    /// <summary>Set when the host could not bind a socket and no other port was tried: the response becomes 508.</summary>
    public bool Failed { get; set; }
}
