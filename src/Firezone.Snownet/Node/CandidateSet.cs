using System.Net.Sockets;
using Firezone.Snownet.Ice;

namespace Firezone.Snownet;

/// <summary>
/// The node's shared local candidates (snownet spec §4.4.2): at most one host and one server-reflexive candidate per IP
/// family. Inserting one evicts the candidate of the same kind and family (without invalidating it anywhere); an
/// identical one is a duplicate. Iteration is by ascending priority: srflx v4, srflx v6, host v4, host v6.
/// </summary>
internal sealed class CandidateSet
{
    private Candidate? _hostV4;
    private Candidate? _hostV6;
    private Candidate? _srflxV4;
    private Candidate? _srflxV6;

    /// <summary>Inserts a host or srflx candidate; false when it is already there. <paramref name="evicted"/>: the one it replaced.</summary>
    public bool TryInsert(Candidate candidate, out Candidate? evicted)
    {
        ref Candidate? slot = ref Slot(candidate);
        evicted = slot;
        if (slot is not null && slot.Address.Equals(candidate.Address) && slot.Base.Equals(candidate.Base))
        {
            evicted = null;
            return false;
        }

        slot = candidate;
        return true;
    }

    /// <summary>The host candidate of a family, if any.</summary>
    public Candidate? Host(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? _hostV6 : _hostV4;

    /// <summary>Every candidate in ascending priority.</summary>
    public IEnumerable<Candidate> All()
    {
        foreach (var c in new[] { _srflxV4, _srflxV6, _hostV4, _hostV6 })
        {
            if (c is not null)
            {
                yield return c;
            }
        }
    }

    public void Clear() => _hostV4 = _hostV6 = _srflxV4 = _srflxV6 = null;

    private ref Candidate? Slot(Candidate candidate)
    {
        bool v6 = candidate.Address.AddressFamily == AddressFamily.InterNetworkV6;
        switch (candidate.Kind)
        {
            case CandidateKind.Host:
                return ref v6 ? ref _hostV6 : ref _hostV4;
            case CandidateKind.ServerReflexive:
                return ref v6 ? ref _srflxV6 : ref _srflxV4;
            default:
                throw new ArgumentException("Only host and server-reflexive candidates are shared.", nameof(candidate));
        }
    }
}
