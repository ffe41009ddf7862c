"""Due-diligence reviews of loans that turned non-performing: exempt, reduced or full
accountability."""
