// The simulation kit moved from tests/Firezone.Simulation (namespace Firezone.Simulation) to the Firezone.Testing
// package (namespace Firezone.Testing). Tunnel/ still says `using Firezone.Simulation;` and is edited by another branch
// in parallel, so until that line becomes `using Firezone.Testing;` this file keeps the old namespace declared and
// brings the new one into scope for the whole project. Delete this file once no file names Firezone.Simulation.
global using Firezone.Testing;

namespace Firezone.Simulation;

/// <summary>Placeholder that keeps the retired namespace declared (see the comment at the top of this file).</summary>
internal static class SimulationKitMoved;
